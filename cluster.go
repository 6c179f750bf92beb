package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors"
	"github.com/spo2/spo2/actors/membership"
	"github.com/spo2/spo2/actors/silence"
	"github.com/spo2/spo2/persistence"
	"github.com/spo2/spo2/persistence/registry"
)

// member is what cluster mode adds to a process (docs/cluster.md): its
// membership, the registry of record in etcd, and the status relay. nil in
// single node mode.
type member struct {
	membership *membership.Membership
	registry   *registry.Registry
	relay      *actor.PID
}

// joinCluster makes the process a cluster member: it opens the registry and
// starts joining (neither waits for etcd).
func joinCluster(cfg config, system *actor.ActorSystem, log *slog.Logger) (*member, error) {
	mem, err := membership.Join(system, membership.Config{Etcd: cfg.ClusterEtcd, ClusterName: cfg.ClusterName,
		Addr: cfg.ClusterAddr, Member: cfg.ClusterMember, Log: log})
	if err != nil {
		return nil, err
	}
	reg, err := registry.Open(registry.Config{Endpoints: cfg.ClusterEtcd, Prefix: "/" + cfg.ClusterName + "/", Log: log})
	if err != nil {
		return nil, fmt.Errorf("CLUSTER_ETCD=%q: %w", cfg.ClusterEtcd, err)
	}
	return &member{membership: mem, registry: reg}, nil
}

// silenceStore is where the member's silences are written: in the registry,
// read at start from the local copy the registry's watch keeps.
func (m *member) silenceStore(local *persistence.Store) silence.Store {
	return memberSilences{registry: m.registry, local: local}
}

// memberSilences writes silences to the registry of record and loads them,
// at start, from the member's local copy.
type memberSilences struct {
	registry *registry.Registry
	local    *persistence.Store
}

func (s memberSilences) SaveSilence(id string, value []byte) error {
	return s.registry.SaveSilence(id, value)
}
func (s memberSilences) DeleteSilence(id string) error   { return s.registry.DeleteSilence(id) }
func (s memberSilences) LoadSilences() ([][]byte, error) { return s.local.LoadSilences() }

// spawnRelay starts the status relay, addressed to the supervisor that is
// spawned next under the name "supervisor".
func (m *member) spawnRelay(root *actor.RootContext, log *slog.Logger) *actor.PID {
	supervisor := root.ActorSystem().NewLocalPID("supervisor")
	m.relay, _ = root.SpawnNamed(actors.NewStatusRelayProps(m.membership.Member(), supervisor, log), actors.StatusRelayName)
	return m.relay
}

// follow feeds the registry's changes to the supervisor and the silences,
// and the cluster's views to the supervisor, the relay and the Slack
// placement (nil without Slack), until ctx ends.
func (m *member) follow(ctx context.Context, root *actor.RootContext, supervisor, slack *actor.PID,
	silences *silence.Book, local *persistence.Store, log *slog.Logger) {
	m.membership.OnChange(func(v *membership.View) {
		root.Send(supervisor, actors.ViewChanged{View: v})
		root.Send(m.relay, actors.ViewChanged{View: v})
		if slack != nil {
			root.Send(slack, actors.ViewChanged{View: v})
		}
	})
	go m.registry.Watch(ctx, 0, func(b registry.Batch) {
		if snap := b.Resync; snap != nil {
			changes := make([]persistence.Op, len(snap.Regs))
			for i := range snap.Regs {
				changes[i] = persistence.Op{URL: snap.Regs[i].URL, Reg: &snap.Regs[i]}
			}
			raws := make([][]byte, 0, len(snap.Silences))
			for _, raw := range snap.Silences {
				raws = append(raws, raw)
			}
			if err := local.ReplaceSilences(snap.Silences); err != nil {
				log.Warn("saving the silences to the local copy failed", "err", err)
			}
			root.Send(supervisor, actors.RegistryChanges{Changes: changes, Resync: true})
			silences.Replace(raws)
			log.Info("registry loaded", "registrations", len(changes), "silences", len(raws), "revision", snap.Rev)
			return
		}
		if len(b.Regs) > 0 {
			root.Send(supervisor, actors.RegistryChanges{Changes: b.Regs})
		}
		for _, c := range b.Silences {
			if c.Value == nil {
				silences.Forget(c.ID)
				if err := local.DeleteSilence(c.ID); err != nil {
					log.Warn("deleting a silence from the local copy failed", "id", c.ID, "err", err)
				}
				continue
			}
			if err := silences.Adopt(c.Value); err != nil {
				log.Warn("a silence in the registry cannot be read", "id", c.ID, "err", err)
				continue
			}
			if err := local.SaveSilence(c.ID, c.Value); err != nil {
				log.Warn("saving a silence to the local copy failed", "id", c.ID, "err", err)
			}
		}
	})
}

// leave leaves the cluster within budget, which also shuts the actor system
// down, and closes the registry.
func (m *member) leave(budget time.Duration, log *slog.Logger) {
	start := time.Now()
	if !m.membership.Leave(budget) {
		log.Warn("etcd did not answer: leaving without deregistering; the others see this member go after the membership timeout",
			"waited", budget)
	}
	if err := m.registry.Close(); err != nil {
		log.Warn("closing the registry", "err", err)
	}
	log.Info("left the cluster", "took", time.Since(start).Round(time.Millisecond))
}

// name is the member's name, "" in single node mode (m nil).
func (m *member) name() string {
	if m == nil {
		return ""
	}
	return m.membership.Member()
}

// healthz is what /healthz says of the cluster: nil in single node mode.
func (m *member) healthz() interface {
	Member() string
	Members() []string
} {
	if m == nil {
		return nil
	}
	return m.membership
}

// seqOffset is added to the seqs of the member's stream (0 in single node
// mode): a number below 2⁵¹ derived from the member's name. Members started
// at the same moment then number their events in ranges far apart, so a
// client that resumes with one member's seq on another gets a snapshot,
// while a member restarted under its name still numbers above its previous
// run.
func (m *member) seqOffset() uint64 {
	if m == nil {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(m.membership.Member()))
	return h.Sum64() % (1 << 51)
}
