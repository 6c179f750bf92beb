package registry

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/spo2/spo2/actors/silence"
)

// Silences, each under x/<id>, the value opaque here (the silence package's
// JSON). The Registry is a silence.Store: a silence is acknowledged only
// once etcd committed it.

var _ silence.Store = (*Registry)(nil)

// SaveSilence stores value under id, returning once etcd committed it, or
// an error wrapping ErrUnavailable.
func (r *Registry) SaveSilence(id string, value []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	if _, err := r.cli.Put(ctx, r.prefix+prefixSilence+id, string(value)); err != nil {
		return r.unavailable("save silence "+id, err)
	}
	return nil
}

// DeleteSilence deletes the silence id, returning once etcd committed it;
// deleting an unknown id is not an error.
func (r *Registry) DeleteSilence(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	if _, err := r.cli.Delete(ctx, r.prefix+prefixSilence+id); err != nil {
		return r.unavailable("delete silence "+id, err)
	}
	return nil
}

// LoadSilences returns every stored silence value.
func (r *Registry) LoadSilences() ([][]byte, error) {
	var out [][]byte
	key := r.prefix + prefixSilence
	_, err := r.rangeAll(context.Background(), key, clientv3.GetPrefixRangeEnd(key), 0, func(kv *mvccpb.KeyValue) {
		out = append(out, kv.Value)
	})
	if err != nil {
		return nil, fmt.Errorf("load silences: %w", err)
	}
	return out, nil
}
