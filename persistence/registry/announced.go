package registry

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/slack"
)

// The last state announced on Slack per URL, under a/<url>, written after
// delivery: the Registry is a slack.AnnouncementStore shared by whichever
// member runs the Slack batcher.

var _ slack.AnnouncementStore = (*Registry)(nil)

// LoadAnnounced returns the last state announced on Slack for each URL.
func (r *Registry) LoadAnnounced() (map[string]health.State, error) {
	out := make(map[string]health.State)
	key := r.prefix + prefixAnnounced
	_, err := r.rangeAll(context.Background(), key, clientv3.GetPrefixRangeEnd(key), 0, func(kv *mvccpb.KeyValue) {
		out[string(kv.Key[len(key):])] = health.State(kv.Value)
	})
	if err != nil {
		return nil, fmt.Errorf("load announced states: %w", err)
	}
	return out, nil
}

// SaveAnnounced records the states just announced on Slack. URLs no longer
// registered are skipped (each write is conditional on the registration
// existing, in the same transaction), so a removed URL leaves nothing
// behind. States are written in transactions of at most 100 URLs, each
// bounded by the timeout; on a failure, wrapping ErrUnavailable, the
// transactions before it stay committed.
func (r *Registry) SaveAnnounced(states map[string]health.State) error {
	ops := make([]clientv3.Op, 0, min(len(states), maxTxnOps))
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
		defer cancel()
		_, err := r.cli.Txn(ctx).Then(ops...).Commit()
		ops = ops[:0]
		return err
	}
	for url, st := range states {
		ops = append(ops, clientv3.OpTxn(
			[]clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(r.prefix+prefixRegistration+url), ">", 0)},
			[]clientv3.Op{clientv3.OpPut(r.prefix+prefixAnnounced+url, string(st))}, nil))
		if len(ops) == maxTxnOps {
			if err := flush(); err != nil {
				return r.unavailable(fmt.Sprintf("save %d announced states", len(states)), err)
			}
		}
	}
	if err := flush(); err != nil {
		return r.unavailable(fmt.Sprintf("save %d announced states", len(states)), err)
	}
	return nil
}
