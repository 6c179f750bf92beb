package membership

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/spo2/spo2/e2e/harness"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func join(t *testing.T, etcd *harness.Etcd, name string) *Membership {
	t.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
	m, err := Join(system, Config{Etcd: []string{etcd.Endpoint}, ClusterName: "t", Addr: "127.0.0.1:0", Member: name, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func etcdClient(t *testing.T, etcd *harness.Etcd) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// waitView waits for a view with exactly names.
func waitView(t *testing.T, views <-chan *View, what string, names ...string) *View {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case v := <-views:
			if slices.Equal(v.Names(), names) {
				return v
			}
		case <-deadline:
			t.Fatalf("never saw %s (members %v)", what, names)
		}
	}
}

// TestJoinAndLeave joins one real member (protoactor's cluster and etcd
// provider) and leaves: its registration is gone at once.
func TestJoinAndLeave(t *testing.T) {
	etcd := harness.StartEtcd(t)
	a := join(t, etcd, "a")
	views := make(chan *View, 16)
	a.OnChange(func(v *View) { views <- v })
	waitView(t, views, "itself join", "a")
	if got := a.Members(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("Members() = %v, want [a]", got)
	}
	// The provider writes the registration twice at start (then with the
	// lease it keeps alive); a Leave between the two would see it back.
	cli := etcdClient(t, etcd)
	harness.Eventually(t, 10*time.Second, "the provider's second write", func() bool {
		resp, err := cli.Get(context.Background(), a.provider.selfKey)
		return err == nil && len(resp.Kvs) == 1 && resp.Kvs[0].Version >= 2
	})
	if !a.Leave(5 * time.Second) {
		t.Fatal("a did not leave within 5 s with etcd up")
	}
	resp, err := cli.Get(context.Background(), "/t/m/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 0 {
		all, _ := cli.Get(context.Background(), "/t/m/", clientv3.WithPrefix())
		t.Fatalf("%d member registrations left after Leave, want 0 (self %s: %v)", resp.Count, a.provider.selfKey, all.Kvs)
	}
}

// TestWatchMembersFollowsRegistrations plays the members by writing their
// registrations where protoactor's etcd provider keeps them (several
// protoactor members in one process would share gRPC's global logger, and
// protoactor's member list races with its gossip when a member leaves).
func TestWatchMembersFollowsRegistrations(t *testing.T) {
	etcd := harness.StartEtcd(t)
	cli := etcdClient(t, etcd)
	m := &Membership{self: Member{Name: "a", Address: "127.0.0.1:1"}, log: quiet}
	m.watchCtx, m.stopWatch = context.WithCancel(context.Background())
	views := make(chan *View, 16)
	m.OnChange(func(v *View) { views <- v })
	watcher, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { m.watchMembers(watcher, "/t/m/", "/t/m/a/t/t@a~1"); close(done) }()
	t.Cleanup(func() { m.stopWatch(); <-done })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	putIncarnation := func(name string, incarnation, port int) {
		t.Helper()
		id := fmt.Sprintf("t@%s~%d", name, incarnation)
		v := fmt.Sprintf(`{"id":%q,"name":%q,"host":"127.0.0.1","address":"127.0.0.1","port":%d,"kinds":[],"alive":true}`, id, id, port)
		if _, err := cli.Put(ctx, "/t/m/"+name+"/t/"+id, v); err != nil {
			t.Fatal(err)
		}
	}
	put := func(name string, port int) {
		t.Helper()
		putIncarnation(name, 1, port)
	}
	put("b", 2) // before this member's own registration: no view yet
	put("a", 1)
	v := waitView(t, views, "a and b", "a", "b")
	for _, mem := range v.Members {
		if want := map[string]string{"a": "127.0.0.1:1", "b": "127.0.0.1:2"}[mem.Name]; mem.Address != want {
			t.Fatalf("%s's address %q, want %q", mem.Name, mem.Address, want)
		}
	}
	put("c", 3)
	waitView(t, views, "c join", "a", "b", "c")
	// b killed and restarted: registered twice until its old lease runs
	// out; the view has the new incarnation, and keeps it when the old goes.
	putIncarnation("b", 2, 4)
	var restarted *View
	harness.Eventually(t, 20*time.Second, "b's new incarnation in the view", func() bool {
		for {
			select {
			case v := <-views:
				restarted = v
			default:
				return restarted != nil && memberNamed(restarted, "b").Address == "127.0.0.1:4"
			}
		}
	})
	if got := memberNamed(restarted, "b").Incarnation; got != "b~2" {
		t.Fatalf("b's incarnation %q, want b~2", got)
	}
	if _, err := cli.Delete(ctx, "/t/m/b/t/t@b~1"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Delete(ctx, "/t/m/b/t/t@b~2"); err != nil {
		t.Fatal(err)
	}
	v = waitView(t, views, "b leave", "a", "c")
	if got := memberNamed(v, "c").Incarnation; got != "c~1" {
		t.Fatalf("c's incarnation %q, want c~1", got)
	}
}

func TestJoinRefusesBadNames(t *testing.T) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
	for _, name := range []string{"a/b", "a~b", "a@b", "a b"} {
		if _, err := Join(system, Config{Etcd: []string{"http://127.0.0.1:1"}, ClusterName: "t", Addr: "127.0.0.1:0", Member: name, Log: quiet}); err == nil {
			t.Errorf("Join accepted the name %q", name)
		}
	}
}

func TestNameOf(t *testing.T) {
	for id, want := range map[string]string{"spo2@m1~0a1b2c3d": "m1", "spo2@host:7001~ff": "host:7001", "plain": "plain"} {
		if got := NameOf(id); got != want {
			t.Errorf("NameOf(%q) = %q, want %q", id, got, want)
		}
	}
}

func memberNamed(v *View, name string) Member {
	for _, m := range v.Members {
		if m.Name == name {
			return m
		}
	}
	return Member{}
}
