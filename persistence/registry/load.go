package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/spo2/spo2/actors/health"
)

// pageSize is how many keys one etcd read returns at most: with custom
// data of at most 64 KiB per registration, a page stays under 128 MiB.
const pageSize = 2_000

// Snapshot is every registration and silence at one etcd revision.
type Snapshot struct {
	// Regs are the registrations, in key order (by URL).
	Regs []health.Registration
	// Silences maps a silence id to its stored bytes.
	Silences map[string][]byte
	// Rev is the revision the snapshot was read at; Watch from it misses
	// nothing.
	Rev int64
}

// Load reads every registration and silence at one revision, in pages of
// 2,000 keys, each page bounded by the timeout. A registration that
// cannot be decoded is logged and left out. When etcd compacts the
// revision during the read, Load starts again (three times at most). Any
// other failure wraps ErrUnavailable.
func (r *Registry) Load(ctx context.Context) (Snapshot, error) {
	for attempt := 1; ; attempt++ {
		snap, err := r.load(ctx)
		if errors.Is(err, rpctypes.ErrCompacted) && attempt < 3 && ctx.Err() == nil {
			continue
		}
		return snap, err
	}
}

func (r *Registry) load(ctx context.Context) (Snapshot, error) {
	snap := Snapshot{Silences: make(map[string][]byte)}
	rp, xp := r.prefix+prefixRegistration, r.prefix+prefixSilence
	rev, err := r.rangeAll(ctx, rp, r.prefix+watchEnd, 0, func(kv *mvccpb.KeyValue) {
		switch key := string(kv.Key); {
		case strings.HasPrefix(key, rp):
			reg, ok := r.decodeRegistration(key[len(rp):], kv.Value)
			if ok {
				snap.Regs = append(snap.Regs, reg)
			}
		case strings.HasPrefix(key, xp):
			snap.Silences[key[len(xp):]] = kv.Value
		}
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("load registry: %w", err)
	}
	snap.Rev = rev
	return snap, nil
}

// decodeRegistration decodes the stored registration of url; one that
// cannot be read is logged and skipped.
func (r *Registry) decodeRegistration(url string, value []byte) (health.Registration, bool) {
	var reg health.Registration
	if err := json.Unmarshal(value, &reg); err != nil {
		r.log.Error("skipping a registration in etcd that cannot be read", "url", url, "err", err)
		return reg, false
	}
	return reg, true
}

// rangeAll calls f with every key in [key, end) at revision rev (the
// current one when 0), page by page, and returns the revision read. A page
// that fails wraps ErrUnavailable, and ErrCompacted when the revision is
// gone.
func (r *Registry) rangeAll(ctx context.Context, key, end string, rev int64, f func(*mvccpb.KeyValue)) (int64, error) {
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(pageSize)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		pctx, cancel := context.WithTimeout(ctx, r.timeout)
		resp, err := r.cli.Get(pctx, key, opts...)
		cancel()
		if err != nil {
			return 0, r.unavailable(fmt.Sprintf("read %s", key), err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			f(kv)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return rev, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}
