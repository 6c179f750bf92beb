// Package cluster holds end-to-end tests of cluster mode: a real etcd
// (harness.StartEtcd), three real spo2 members (the race-enabled binary)
// sharing it, real targets on 127.0.0.1 that tell which member probed them,
// a fake Slack, and WebSocket clients. The members are killed with SIGKILL,
// restarted, and cut off from etcd, as a machine or the network would.
//
// The helpers_*_test.go files bind the test kit (e2e/harness) to this
// package: starting and watching the members, and the target farm.
package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// The spo2 binaries, each built on first use and shared by the package's
// tests: race-enabled, and plain for the members that carry the fleet of
// 3,000 URLs (see TestCluster for why).
var (
	raceBin  = harness.Binary{Flags: []string{"-race"}}
	plainBin = harness.Binary{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	raceBin.Remove()
	plainBin.Remove()
	os.Exit(code)
}

const (
	// interval is every member's PROBE_INTERVAL, the shortest there is.
	interval = time.Second
	// leaseTTL is how long a member killed with SIGKILL stays in the others'
	// member lists: the keep-alive TTL of protoactor's etcd provider.
	leaseTTL = 3 * time.Second
	// joinTimeout bounds how long members take to see each other after a
	// start or a restart.
	joinTimeout = 30 * time.Second
)

// client is shared by every request of the package; it does not follow
// redirects.
var client = harness.NewClient(64)

// cluster is N spo2 members sharing one etcd under one CLUSTER_NAME. Member
// i is named "m<i+1>" (its CLUSTER_MEMBER) and has its own DB_PATH.
type cluster struct {
	name    string
	etcd    *harness.Etcd
	names   []string
	members []*harness.Process
}

// clusterName turns the test's name into a CLUSTER_NAME: lower case
// letters, digits and dashes, so that every test has its own etcd prefix.
func clusterName(t *testing.T) string {
	return "e2e-" + strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
}

// startCluster starts n members of bin against etcd, all at once, with extra
// KEY=VALUE env pairs on top of the cluster's own (PROBE_INTERVAL=1s among
// them), and returns once every member lists all of them in /healthz. At
// cleanup the members are stopped with SIGTERM (those still running) and the
// test fails on an unclean exit or a data race report.
func startCluster(t *testing.T, bin string, etcd *harness.Etcd, n int, extra ...string) *cluster {
	t.Helper()
	c := &cluster{name: clusterName(t), etcd: etcd, members: make([]*harness.Process, n)}
	dirs := make([]string, n)
	for i := range n {
		c.names = append(c.names, fmt.Sprintf("m%d", i+1))
		dirs[i] = t.TempDir()
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			c.members[i], errs[i] = harness.Start(ctx, harness.Options{Bin: bin, TempDir: dirs[i], Env: c.env(c.names[i], extra)})
		})
	}
	wg.Wait()
	t.Cleanup(func() { c.stop(t) })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("starting member %s: %v", c.names[i], err)
		}
	}
	c.awaitMembers(t)
	return c
}

// env is the environment of member name: the cluster's variables, a short
// probe interval and one failure to turn unhealthy, then extra.
func (c *cluster) env(name string, extra []string) []string {
	env := []string{
		"CLUSTER_ETCD=" + c.etcd.Endpoint,
		"CLUSTER_NAME=" + c.name,
		"CLUSTER_ADDR=127.0.0.1:0",
		"CLUSTER_MEMBER=" + name,
		"PROBE_INTERVAL=" + interval.String(),
		"FAILURE_THRESHOLD=1",
	}
	return append(env, extra...)
}

// stop stops every member still running, in parallel, and checks each
// exited cleanly without a data race; a failed test's log shows the last
// lines of each member.
func (c *cluster) stop(t *testing.T) {
	var wg sync.WaitGroup
	for _, p := range c.members {
		if p != nil {
			wg.Go(func() { harness.StopAndCheck(t, p) })
		}
	}
	wg.Wait()
	if t.Failed() {
		for i, p := range c.members {
			if p != nil {
				t.Logf("member %s logs, last 60 lines:\n%s", c.names[i], harness.Tail(p.Logs(), 60))
			}
		}
	}
}

// member returns the member called name.
func (c *cluster) member(name string) *harness.Process {
	return c.members[slices.Index(c.names, name)]
}

// running returns the names of the members whose process runs.
func (c *cluster) running() []string {
	var names []string
	for i, p := range c.members {
		select {
		case <-p.Exited():
		default:
			names = append(names, c.names[i])
		}
	}
	return names
}

// slackDelivered sums spo2_slack_messages_total over the kinds and the
// running members: the Slack messages they saw accepted (and recorded).
func (c *cluster) slackDelivered(t *testing.T) int {
	t.Helper()
	total := 0.0
	line := regexp.MustCompile(`(?m)^spo2_slack_messages_total\{[^}]*\} (\S+)$`)
	for _, name := range c.running() {
		r := harness.Do(t, c.member(name).Client(), http.MethodGet, c.member(name).URL("/metrics"), nil)
		for _, m := range line.FindAllSubmatch(r.Body, -1) {
			v, _ := strconv.ParseFloat(string(m[1]), 64)
			total += v
		}
	}
	return int(total)
}

// kill kills member name with SIGKILL and returns when it is gone.
func (c *cluster) kill(name string) { c.member(name).Kill() }

// restart starts member name again on its addresses and DB_PATH, with the
// same environment, and waits until every running member lists it; it
// returns the time by which all of them did.
func (c *cluster) restart(t *testing.T, name string) time.Time {
	t.Helper()
	harness.RestartT(t, c.member(name))
	return c.awaitMembers(t)
}

// whole restarts every member that is not running (a subtest that failed
// half-way may leave one down), so that each subtest starts from a whole
// cluster.
func (c *cluster) whole(t *testing.T) {
	t.Helper()
	for _, name := range c.names {
		if !slices.Contains(c.running(), name) {
			t.Logf("member %s was down; restarting it", name)
			harness.RestartT(t, c.member(name))
		}
	}
	c.awaitMembers(t)
}

// healthz is /healthz in cluster mode.
type healthz struct {
	Status  string   `json:"status"`
	Member  string   `json:"member"`
	Members []string `json:"members"`
}

// health reads p's /healthz.
func health(p *harness.Process) (healthz, error) {
	r, err := harness.Send(client, http.MethodGet, p.URL("/healthz"), nil)
	if err != nil {
		return healthz{}, err
	}
	var h healthz
	if r.Code != http.StatusOK {
		return h, fmt.Errorf("GET /healthz: %d %s", r.Code, r.Body)
	}
	if err := json.Unmarshal(r.Body, &h); err != nil {
		return h, fmt.Errorf("GET /healthz: %q: %v", r.Body, err)
	}
	return h, nil
}

// awaitMembers waits until every running member names itself and lists
// exactly the running members (sorted) in /healthz, and returns the time
// it saw the last of them do so. It fails the test after joinTimeout.
func (c *cluster) awaitMembers(t *testing.T) time.Time {
	t.Helper()
	want := c.running()
	last := map[string]string{}
	ok := harness.Poll(joinTimeout, func() bool {
		done := true
		for _, name := range want {
			h, err := health(c.member(name))
			if err != nil {
				last[name] = err.Error()
				done = false
				continue
			}
			last[name] = fmt.Sprintf("%+v", h)
			done = done && h.Member == name && slices.Equal(h.Members, want)
		}
		return done
	})
	if !ok {
		t.Fatalf("members did not all list %v within %s; last /healthz: %v", want, joinTimeout, last)
	}
	return time.Now()
}
