// Package membership makes a SpO₂ process a member of a cluster: it joins
// with protoactor-go's cluster and its etcd cluster provider, and turns the
// cluster's topology into a View that says which member owns which URL.
package membership

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Config says how to join.
type Config struct {
	Etcd        []string // etcd endpoints
	ClusterName string   // also the etcd key prefix /<name>/
	// Addr is the host:port of this member's actor remoting, advertised to
	// the others; port 0 picks a free port.
	Addr string
	// Member is this member's name; empty means "<host name>:<port>".
	Member string
	Log    *slog.Logger
}

// Membership is this process's place in the cluster. Join returns at once;
// the member joins in the background (it waits for etcd if etcd cannot be
// reached) and every topology change after that makes a new View, handed
// to the functions given to OnChange. Until the first View, View returns
// nil: a member that has not joined owns nothing.
type Membership struct {
	self     Member
	cluster  *cluster.Cluster
	provider *lateProvider
	log      *slog.Logger
	view     atomic.Pointer[View]
	// watchCtx ends the watch of the members' registrations (Leave).
	watchCtx  context.Context
	stopWatch context.CancelFunc

	mu        sync.Mutex
	listeners []func(*View)
}

// Join prepares system as a cluster member and starts joining. It fails
// only on a bad configuration (an address that cannot be listened on, a
// name with "/"). system must not have started remoting.
func Join(system *actor.ActorSystem, cfg Config) (*Membership, error) {
	host, port, err := freeAddr(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("CLUSTER_ADDR=%q: %w", cfg.Addr, err)
	}
	name := cfg.Member
	if name == "" {
		hostname, _ := os.Hostname()
		name = net.JoinHostPort(hostname, strconv.Itoa(port))
	}
	if strings.ContainsAny(name, "/~@ ") {
		return nil, fmt.Errorf("CLUSTER_MEMBER=%q: a name may not contain '/', '~', '@' or spaces", name)
	}
	// The member's id in protoactor is its name and a random suffix: a
	// member restarted under the same name is a new incarnation (protoactor
	// blocks the ids of members that left), yet keeps its name.
	system.ID = name + "~" + randomSuffix()
	m := &Membership{
		self: Member{Name: name, Address: net.JoinHostPort(host, strconv.Itoa(port)), Incarnation: system.ID},
		log:  cfg.Log,
	}
	remoting := make(chan error, 1)
	// Each member's provider has a key prefix of its own (see lateProvider).
	members := "/" + cfg.ClusterName + "/m/"
	provider := &lateProvider{membersKey: members, baseKey: members + name, remoting: remoting, registered: make(chan struct{}),
		selfKey: members + name + "/" + cfg.ClusterName + "/" + cfg.ClusterName + "@" + system.ID,
		etcd:    clientv3.Config{Endpoints: cfg.Etcd, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}}
	clusterCfg := cluster.Configure(cfg.ClusterName, provider, disthash.New(), remote.Configure(host, port))
	// The cluster's gossip has no one to talk to (see lateProvider): it
	// ticks once a day instead of every 300 ms.
	clusterCfg.GossipInterval = 24 * time.Hour
	m.cluster = cluster.New(system, clusterCfg)
	m.provider = provider
	m.watchCtx, m.stopWatch = context.WithCancel(context.Background())
	provider.watch = m.watchMembers
	go m.start(remoting)
	if err := <-remoting; err != nil {
		return nil, fmt.Errorf("CLUSTER_ADDR=%q: %w", cfg.Addr, err)
	}
	return m, nil
}

// start joins; it blocks while etcd cannot be reached. remoting (buffered,
// one slot) is sent nil once the actor remoting listens, or the reason it
// failed.
func (m *Membership) start(remoting chan<- error) {
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("joining the cluster: %v", r)
			select {
			case remoting <- err:
			default:
				m.log.Error("joining the cluster failed", "member", m.self.Name, "err", err)
			}
		}
	}()
	m.log.Info("joining the cluster", "member", m.self.Name, "addr", m.self.Address)
	m.cluster.StartMember()
}

// Self returns this member.
func (m *Membership) Self() Member { return m.self }

// View returns the current view, nil before the member has joined.
func (m *Membership) View() *View { return m.view.Load() }

// OnChange adds f to the functions told of every new View, in order, from
// the membership's goroutine, starting with the current one if the member
// has joined: f must not block.
func (m *Membership) OnChange(f func(*View)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listeners = append(m.listeners, f)
	if v := m.view.Load(); v != nil {
		f(v)
	}
}

// Leave leaves the cluster and shuts the actor system down, within budget:
// it deletes the member's registration, so that the others see it go at
// once, instead of after the membership timeout; when etcd does not answer
// within budget the others see it go after the timeout, as after a crash.
// It reports whether the registration was deleted.
func (m *Membership) Leave(budget time.Duration) bool {
	left := true
	select {
	case <-m.provider.registered:
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		left = m.provider.deregister(ctx) == nil
		cancel()
	default: // not registered (etcd was never reached): nothing to delete
	}
	m.stopWatch()
	// Not Cluster.Shutdown: with true it waits for etcd without a bound
	// (the provider's shutdown also races with its own keep-alive); either
	// way it tells the cluster's gossip, which this member does not use.
	m.cluster.ActorSystem.Shutdown()
	m.cluster.Remote.Shutdown(false)
	return left
}

// NameOf returns the member name in a protoactor member id: the id is
// "<cluster>@<name>~<suffix>" as the etcd provider registers it.
func NameOf(id string) string {
	if i := strings.LastIndexByte(id, '@'); i >= 0 {
		id = id[i+1:]
	}
	if i := strings.LastIndexByte(id, '~'); i >= 0 {
		id = id[:i]
	}
	return id
}

// freeAddr checks that addr can be listened on, and picks a free port when
// its port is 0. The port is free when checked; remoting listens on it a
// moment later.
func freeAddr(addr string) (string, int, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return "", 0, err
	}
	return host, port, nil
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Member returns this member's name.
func (m *Membership) Member() string { return m.self.Name }

// Members returns the names of the live members this member sees, itself
// included, sorted; empty before it has joined.
func (m *Membership) Members() []string {
	if v := m.View(); v != nil {
		return v.Names()
	}
	return []string{}
}
