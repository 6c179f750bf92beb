package registry

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/spo2/spo2/persistence"
)

// Writes of registrations: one committer goroutine turns Apply calls into
// etcd transactions, in the order the calls were made.

const (
	// maxTxnOps bounds the etcd operations of one transaction, below etcd's
	// default --max-txn-ops of 128.
	maxTxnOps = 100
	// maxTxnBytes bounds the keys and values of one transaction, below
	// etcd's default request limit of 1.5 MiB.
	maxTxnBytes = 1 << 20
	// opOverhead is counted per operation on top of its key and value.
	opOverhead = 16
)

type call struct {
	ops  []persistence.Op
	done func(error)
}

// Apply submits ops and returns at once (it waits only while 4,096 calls
// are already queued). done is called once, from another goroutine, with nil
// after every op is committed in etcd, or with an error wrapping
// ErrUnavailable; after Close, with ErrClosed before Apply returns.
//
// A put stores the registration under r/<url>; a delete removes r/<url> and
// the URL's announced state. Ops of one call are applied in order, and calls
// in the order they were made. Small calls made concurrently are gathered
// into one transaction and succeed or fail together. A call too big for one
// etcd transaction (over 100 etcd operations, a delete counting two, or
// 1 MiB) is committed alone, in chunks, in order, and done is called after
// the last; when a chunk fails the call stops there and the chunks before
// it stay committed, so retrying the same call is safe.
//
// When a transaction fails because etcd is out of reach, every call queued
// behind it fails at once with the same error rather than each waiting out
// its own timeout: a write made while etcd is down fails within about
// twice the timeout.
func (r *Registry) Apply(ops []persistence.Op, done func(error)) {
	r.closeMu.RLock()
	defer r.closeMu.RUnlock()
	if r.closed {
		done(ErrClosed)
		return
	}
	r.calls <- &call{ops: ops, done: done}
}

// Write applies ops and waits for the result, or for ctx to end.
func (r *Registry) Write(ctx context.Context, ops []persistence.Op) error {
	res := make(chan error, 1)
	r.Apply(ops, func(err error) { res <- err })
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Registry) runCommitter() {
	defer r.wg.Done()
	var next *call // taken from the queue, but did not fit the group before it
	for {
		first := next
		next = nil
		if first == nil {
			select {
			case first = <-r.calls:
			case <-r.stop:
				// Close holds closeMu, so nothing more can arrive: commit what is queued.
				for {
					select {
					case c := <-r.calls:
						if err := r.commitCall(c); err != nil {
							r.failQueued(err)
							return
						}
					default:
						return
					}
				}
			}
		}
		if ops, size := cost(first.ops); ops > maxTxnOps || size > maxTxnBytes {
			if err := r.commitCall(first); err != nil {
				r.failQueued(err)
			}
			continue
		}
		group := []*call{first}
		nops, size := cost(first.ops)
	gather:
		for {
			select {
			case c := <-r.calls:
				o, s := cost(c.ops)
				if nops+o > maxTxnOps || size+s > maxTxnBytes {
					next = c
					break gather
				}
				group = append(group, c)
				nops, size = nops+o, size+s
			default:
				break gather
			}
		}
		var t txn
		n := 0
		for _, c := range group {
			for _, op := range c.ops {
				t.add(op)
			}
			n += len(c.ops)
		}
		err := r.commit(&t, n)
		for _, c := range group {
			c.done(err)
		}
		if err != nil {
			if next != nil {
				next.done(err)
				next = nil
			}
			r.failQueued(err)
		}
	}
}

// commitCall commits one call in as many transactions as it needs, in
// order, and tells its caller the outcome: the first failure, or nil.
func (r *Registry) commitCall(c *call) error {
	var t txn
	nops, size, n := 0, 0, 0
	for _, op := range c.ops {
		o, s := opCost(op)
		if n > 0 && (nops+o > maxTxnOps || size+s > maxTxnBytes) {
			if err := r.commit(&t, n); err != nil {
				c.done(err)
				return err
			}
			t, nops, size, n = txn{}, 0, 0, 0
		}
		t.add(op)
		nops, size, n = nops+o, size+s, n+1
	}
	err := r.commit(&t, n)
	c.done(err)
	return err
}

// failQueued fails every call queued now with err.
func (r *Registry) failQueued(err error) {
	for {
		select {
		case c := <-r.calls:
			c.done(err)
		default:
			return
		}
	}
}

// commit runs t as one etcd transaction of n registration ops.
func (r *Registry) commit(t *txn, n int) error {
	if n == 0 {
		return nil
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	_, err := r.cli.Txn(ctx).Then(t.etcdOps(r.prefix)...).Commit()
	if r.observer != nil {
		r.observer(time.Since(start), n)
	}
	if err != nil {
		err = r.unavailable(fmt.Sprintf("commit %d registration changes", n), err)
		r.log.Error("registry write failed", "ops", n, "err", err)
	}
	return err
}

// cost returns the etcd operations and bytes ops take in a transaction.
func cost(ops []persistence.Op) (nops, size int) {
	for _, op := range ops {
		o, s := opCost(op)
		nops, size = nops+o, size+s
	}
	return nops, size
}

// opCost returns the etcd operations and bytes op takes in a transaction:
// a put writes the registration, a delete removes two keys.
func opCost(op persistence.Op) (nops, size int) {
	if op.Reg == nil {
		return 2, 2 * (len(op.URL) + opOverhead + 8)
	}
	return 1, len(op.URL) + len(op.Reg.Data) + 512
}

// txn is the net effect of a sequence of ops on each URL, as one etcd
// transaction may not touch a key twice: the last op of a URL wins, and a
// delete anywhere in the sequence also removes the announced state.
type txn struct {
	order []string // URLs in order of first appearance
	last  map[string]*urlChange
}

type urlChange struct {
	op      persistence.Op
	deleted bool // a delete was among the URL's ops
}

func (t *txn) add(op persistence.Op) {
	if t.last == nil {
		t.last = make(map[string]*urlChange)
	}
	c, ok := t.last[op.URL]
	if !ok {
		c = &urlChange{}
		t.last[op.URL] = c
		t.order = append(t.order, op.URL)
	}
	c.op = op
	c.deleted = c.deleted || op.Reg == nil
}

// etcdOps returns the transaction's etcd operations under prefix.
func (t *txn) etcdOps(prefix string) []clientv3.Op {
	out := make([]clientv3.Op, 0, len(t.order)+4)
	var buf []byte
	for _, url := range t.order {
		c := t.last[url]
		key := prefix + prefixRegistration + url
		if c.op.Reg != nil {
			buf = c.op.Reg.AppendJSON(buf[:0])
			out = append(out, clientv3.OpPut(key, string(buf)))
		} else {
			out = append(out, clientv3.OpDelete(key))
		}
		if c.deleted {
			out = append(out, clientv3.OpDelete(prefix+prefixAnnounced+url))
		}
	}
	return out
}
