package registry

import (
	"context"
	"fmt"
	"sync"
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
	// pipelineDepth is how many transactions of one big call are in flight
	// at once.
	pipelineDepth = 4
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
// 1 MiB) is committed alone, in chunks, and done is called after the last:
// several ops of the call on one URL come down to their net effect (the
// last op wins; a delete among them still removes the announced state), so
// the chunks touch different keys and a few are in flight at once. When a
// chunk fails no further chunk starts, and the chunks already committed
// stay committed: retrying the same call is safe.
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
				r.drain()
				return
			}
		}
		var err error
		if ops, size := cost(first.ops); ops > maxTxnOps || size > maxTxnBytes {
			err = r.commitCall(first)
		} else {
			var group []*call
			group, next = r.gather(first)
			err = r.commitGroup(group)
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

// drain commits what is queued at Close, one call at a time; Close holds
// closeMu, so nothing more can arrive. After a failure the rest fail with
// it.
func (r *Registry) drain() {
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

// gather returns first with the small calls queued behind it that fit one
// transaction together, and the call that did not fit (nil when the queue
// ran empty first).
func (r *Registry) gather(first *call) (group []*call, next *call) {
	group = []*call{first}
	nops, size := cost(first.ops)
	for {
		select {
		case c := <-r.calls:
			o, s := cost(c.ops)
			if nops+o > maxTxnOps || size+s > maxTxnBytes {
				return group, c
			}
			group = append(group, c)
			nops, size = nops+o, size+s
		default:
			return group, nil
		}
	}
}

// commitGroup commits calls that fit one transaction together, and tells
// each caller the one outcome.
func (r *Registry) commitGroup(group []*call) error {
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
	return err
}

// commitCall commits one call too big for one transaction and tells its
// caller the outcome: the first failure, or nil. The call's net effect on
// each URL is split into chunks that touch disjoint keys, so up to
// pipelineDepth of them are in flight at once: their order does not change
// the outcome. After a failure no further chunk starts.
func (r *Registry) commitCall(c *call) error {
	var whole txn
	for _, op := range c.ops {
		whole.add(op)
	}
	chunks := whole.split()
	sem := make(chan struct{}, pipelineDepth)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for i := range chunks {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(t *txn) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := r.commit(t, len(t.order)); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}(&chunks[i])
	}
	wg.Wait()
	c.done(firstErr)
	return firstErr
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

// split cuts t into transactions of at most maxTxnOps etcd operations and
// maxTxnBytes, in order; they share t's changes.
func (t *txn) split() []txn {
	var out []txn
	from, nops, size := 0, 0, 0
	for i, url := range t.order {
		o, s := t.last[url].cost()
		if i > from && (nops+o > maxTxnOps || size+s > maxTxnBytes) {
			out = append(out, txn{order: t.order[from:i:i], last: t.last})
			from, nops, size = i, 0, 0
		}
		nops, size = nops+o, size+s
	}
	if from < len(t.order) {
		out = append(out, txn{order: t.order[from:], last: t.last})
	}
	return out
}

// cost returns the etcd operations and bytes of c in a transaction.
func (c *urlChange) cost() (nops, size int) {
	nops, size = opCost(c.op)
	if c.op.Reg != nil && c.deleted {
		nops, size = nops+1, size+len(c.op.URL)+opOverhead
	}
	return nops, size
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
