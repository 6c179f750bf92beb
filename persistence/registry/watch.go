package registry

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/spo2/spo2/persistence"
)

// Change is a registration put (Reg set) or deleted (Reg nil): the same
// operation Apply writes.
type Change = persistence.Op

// SilenceChange is a silence stored (Value set, the stored bytes) or
// deleted (Value nil).
type SilenceChange struct {
	ID    string
	Value []byte
}

// Batch is what one Watch delivery brings: changes in revision order, or a
// Resync with everything (Regs and Silences then empty). Rev is the
// revision the receiver is up to after applying it.
type Batch struct {
	Regs     []Change
	Silences []SilenceChange
	Resync   *Snapshot
	Rev      int64
}

const (
	// minBackoff and maxBackoff bound the pause between attempts to load a
	// snapshot while etcd is out of reach.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	// checkEvery is how often Watch checks that etcd answers, for its
	// outage log lines.
	checkEvery = 2 * time.Second
)

// Watch calls apply with every change to registrations and silences after
// revision rev, in revision order, one Batch per etcd watch response, until
// ctx ends or the Registry is closed; then it returns. apply runs on
// Watch's goroutine, one call at a time.
//
// With rev 0, or when the watch cannot go on from the last revision seen
// (etcd compacted it, or any other watch error), Watch loads a fresh
// Snapshot and calls apply with Resync set: the receiver then replaces
// everything it holds. It watches on from the snapshot's revision.
//
// When etcd goes away the watch waits, and resumes from the last revision
// seen when etcd is back, missing nothing. Snapshot loads are retried with
// a backoff from 100 ms to 5 s. Watch logs one line when etcd stops
// answering and one when it answers again.
func (r *Registry) Watch(ctx context.Context, rev int64, apply func(Batch)) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-r.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	go r.logOutages(ctx)

	backoff := minBackoff
	for ctx.Err() == nil {
		if rev <= 0 {
			snap, err := r.Load(ctx)
			if err != nil {
				if !sleep(ctx, backoff) {
					return
				}
				backoff = min(2*backoff, maxBackoff)
				continue
			}
			backoff = minBackoff
			rev = snap.Rev
			apply(Batch{Resync: &snap, Rev: snap.Rev})
		}
		from := rev
		var err error
		rev, err = r.watchFrom(ctx, rev, apply)
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("registry watch lost; loading everything again", "rev", rev, "err", err)
		if rev == from { // lost again before delivering anything: pause before the next load
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
		}
		rev = 0
	}
}

// watchFrom delivers the changes after rev until the watch ends, and
// returns the last revision delivered and why it ended.
func (r *Registry) watchFrom(ctx context.Context, rev int64, apply func(Batch)) (int64, error) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	rp, xp := r.prefix+prefixRegistration, r.prefix+prefixSilence
	ch := r.cli.Watch(wctx, rp, clientv3.WithRange(r.prefix+watchEnd), clientv3.WithRev(rev+1))
	for resp := range ch {
		if err := resp.Err(); err != nil {
			return rev, err
		}
		if resp.Canceled {
			return rev, errors.New("watch canceled by etcd")
		}
		if len(resp.Events) == 0 {
			continue
		}
		var b Batch
		for _, ev := range resp.Events {
			key := string(ev.Kv.Key)
			switch {
			case strings.HasPrefix(key, rp):
				b.Regs = r.regChange(b.Regs, key[len(rp):], ev)
			case strings.HasPrefix(key, xp):
				c := SilenceChange{ID: key[len(xp):]}
				if ev.Type == mvccpb.PUT {
					c.Value = ev.Kv.Value
				}
				b.Silences = append(b.Silences, c)
			}
		}
		rev = resp.Events[len(resp.Events)-1].Kv.ModRevision
		b.Rev = rev
		if len(b.Regs) > 0 || len(b.Silences) > 0 {
			apply(b)
		}
	}
	if err := ctx.Err(); err != nil {
		return rev, err
	}
	return rev, errors.New("watch closed")
}

// regChange appends the change ev made to url's registration; a put that
// cannot be decoded is logged and left out.
func (r *Registry) regChange(out []Change, url string, ev *clientv3.Event) []Change {
	if ev.Type == mvccpb.DELETE {
		return append(out, Change{URL: url})
	}
	reg, ok := r.decodeRegistration(url, ev.Kv.Value)
	if !ok {
		return out
	}
	return append(out, Change{URL: url, Reg: &reg})
}

// logOutages checks every checkEvery that etcd answers, and logs when it
// stops answering and when it answers again, until ctx ends.
func (r *Registry) logOutages(ctx context.Context) {
	var downSince time.Time
	tick := time.NewTicker(checkEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := r.Reachable(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && downSince.IsZero():
			downSince = time.Now()
			r.log.Warn("registry unreachable; reads are served from the local copy, writes fail", "err", err)
		case err == nil && !downSince.IsZero():
			r.log.Info("registry reachable again", "down_for", time.Since(downSince).Round(time.Millisecond))
			downSince = time.Time{}
		}
	}
}

// sleep waits d, or until ctx ends (then it returns false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
