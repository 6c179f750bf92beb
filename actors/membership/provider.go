package membership

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// lateProvider is protoactor's etcd provider, created only once protoactor
// has started remoting, and it tells when that is. Remoting sets the actor
// system's address, which must not change while actors are being spawned,
// and replaces gRPC's global logger, which must not happen while an etcd
// client (gRPC) is running: so Join waits for remoting, and no etcd client
// exists before it.
//
// The provider registers the member under baseKey with a lease it keeps
// alive. Alongside it, the membership's own client watches every member's
// registration under membersKey (watch) and deletes this member's when it
// leaves.
//
// Each member's baseKey is its own (membersKey + its name), so the provider
// of one member never sees another: protoactor's member list, gossip and
// block list stay with the member alone. At this version they race (the
// block list is read without its lock while a member that left is added to
// it) and the provider can miss a member that registers while it starts
// watching; the view is made from the watch instead.
type lateProvider struct {
	membersKey string
	baseKey    string
	selfKey    string // this member's registration, as the provider writes it
	etcd       clientv3.Config
	remoting   chan<- error
	// watch follows the members' registrations with cli until its context
	// ends (Membership.watchMembers).
	watch func(cli *clientv3.Client, prefix, selfKey string)

	cli      *clientv3.Client // set by StartMember
	provider *etcd.Provider   // set by StartMember
	// registered is closed once the provider has registered the member.
	registered chan struct{}
}

// StartMember is called by protoactor once remoting listens.
func (p *lateProvider) StartMember(c *cluster.Cluster) error {
	p.remoting <- nil // buffered: Join's, read once
	cli, err := clientv3.New(p.etcd)
	if err != nil {
		return fmt.Errorf("CLUSTER_ETCD=%q: %w", strings.Join(p.etcd.Endpoints, ","), err)
	}
	p.cli = cli
	go p.watch(cli, p.membersKey, p.selfKey)
	provider, err := etcd.NewWithConfig(p.baseKey, p.etcd)
	if err != nil {
		return fmt.Errorf("CLUSTER_ETCD=%q: %w", strings.Join(p.etcd.Endpoints, ","), err)
	}
	p.provider = provider
	if err := provider.StartMember(c); err != nil {
		return err
	}
	close(p.registered)
	return nil
}

// StartClient is not used: a SpO₂ process is always a member.
func (p *lateProvider) StartClient(*cluster.Cluster) error {
	return errors.New("a SpO₂ process is a cluster member, never a client")
}

// Shutdown does nothing: Membership.Leave deregisters the member itself,
// with a deadline (the provider's own Shutdown waits for etcd without one).
func (p *lateProvider) Shutdown(bool) error { return nil }

// deregister deletes this member's registration; Leave calls it only once
// registered is closed.
func (p *lateProvider) deregister(ctx context.Context) error {
	if p.cli == nil {
		return errors.New("not registered")
	}
	_, err := p.cli.Delete(ctx, p.selfKey)
	return err
}
