package membership

import (
	"context"
	"encoding/json"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// registration is the part of a member's registration (as protoactor's
// etcd provider writes it) that the view needs, and the etcd revision that
// created it.
type registration struct {
	ID      string `json:"id"`
	Host    string `json:"host"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	created int64
}

// watchMembers keeps the view equal to the members registered in etcd under
// prefix: it reads them all at one revision and watches every change after
// it, reading them all again when the watch breaks, until Leave. The
// provider's own member list is not used: it starts watching after it has
// read the members, without a revision, and can miss a member registering
// in between. Views are published once this member's own registration
// (selfKey) is there: before it, the member owns nothing.
func (m *Membership) watchMembers(cli *clientv3.Client, prefix, selfKey string) {
	ctx := m.watchCtx
	defer cli.Close()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix())
		if err != nil {
			if !sleepCtx(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		regs := make(map[string]registration, len(resp.Kvs))
		for _, kv := range resp.Kvs {
			addRegistration(regs, string(kv.Key), kv.Value, kv.CreateRevision)
		}
		m.publish(regs, selfKey)
		for wr := range cli.Watch(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)) {
			if wr.Err() != nil {
				break // read them all again
			}
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete {
					delete(regs, string(ev.Kv.Key))
				} else {
					addRegistration(regs, string(ev.Kv.Key), ev.Kv.Value, ev.Kv.CreateRevision)
				}
			}
			m.publish(regs, selfKey)
		}
	}
}

func addRegistration(regs map[string]registration, key string, value []byte, created int64) {
	var r registration
	if json.Unmarshal(value, &r) == nil && r.ID != "" {
		r.created = created
		regs[key] = r
	}
}

// publish makes a view of regs and tells the listeners when it differs from
// the current one.
func (m *Membership) publish(regs map[string]registration, selfKey string) {
	if _, ok := regs[selfKey]; !ok {
		return
	}
	// A member killed and restarted under its name is registered twice
	// until its old lease runs out: the newest registration is the live one.
	newest := make(map[string]registration, len(regs))
	for _, r := range regs {
		name := NameOf(r.ID)
		if cur, ok := newest[name]; !ok || r.created > cur.created {
			newest[name] = r
		}
	}
	members := make([]Member, 0, len(newest))
	for name, r := range newest {
		host := r.Host
		if host == "" {
			host = r.Address
		}
		members = append(members, Member{Name: name, Address: net.JoinHostPort(host, strconv.Itoa(r.Port)), Incarnation: incarnationOf(r.ID)})
	}
	v := NewView(m.self, members)
	m.mu.Lock()
	defer m.mu.Unlock()
	if old := m.view.Load(); old != nil && slices.Equal(old.Members, v.Members) {
		return
	}
	m.log.Info("cluster members changed", "member", m.self.Name, "members", strings.Join(v.Names(), ","))
	m.view.Store(v)
	for _, f := range m.listeners {
		f(v)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// incarnationOf returns the protoactor system id in a member id
// ("<cluster>@<name>~<suffix>"): the incarnation of the member.
func incarnationOf(id string) string {
	if i := strings.LastIndexByte(id, '@'); i >= 0 {
		return id[i+1:]
	}
	return id
}
