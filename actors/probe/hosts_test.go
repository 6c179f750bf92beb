package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
)

func TestWatchTurnsKeepAliveOffWhenHostsOutnumberThePool(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			p := impl.new(Options{MaxIdleConns: 2, IdleConnTimeout: time.Minute})
			defer p.Close()
			probeN := func(n int) int32 {
				before := conns.Load()
				for range n {
					if o := p.Probe(context.Background(), srv.URL+"/", time.Second, health.DefaultExpect); o.Verdict() != health.Healthy {
						t.Fatalf("probe failed: %+v", o)
					}
				}
				return conns.Load() - before
			}
			tests := []struct {
				watch, unwatch []string
				hosts          int
				keepAlive      bool
				maxConns       int32 // new connections for 5 probes: at most (keep-alive), at least (none)
			}{
				{watch: []string{srv.URL + "/", srv.URL + "/other"}, hosts: 1, keepAlive: true, maxConns: 1}, // one host:port
				{watch: []string{"http://pod-1.invalid/", "https://POD-1.invalid/"}, hosts: 3, keepAlive: false, maxConns: 4},
				{unwatch: []string{"https://pod-1.invalid/"}, hosts: 2, keepAlive: true, maxConns: 1},
				{unwatch: []string{srv.URL + "/"}, hosts: 2, keepAlive: true, maxConns: 1}, // srv.URL/other is still watched
			}
			for _, tc := range tests {
				for _, u := range tc.watch {
					p.Watch(u)
				}
				for _, u := range tc.unwatch {
					p.Unwatch(u)
				}
				if p.KeepsAlive() != tc.keepAlive {
					t.Fatalf("%d hosts for 2 idle slots: KeepsAlive %v", tc.hosts, p.KeepsAlive())
				}
				got := probeN(5)
				if tc.keepAlive && got > tc.maxConns {
					t.Fatalf("%d hosts: %d new connections for 5 probes with keep-alive", tc.hosts, got)
				}
				if !tc.keepAlive && got < tc.maxConns {
					t.Fatalf("%d hosts: %d new connections for 5 probes without keep-alive, want at least %d", tc.hosts, got, tc.maxConns)
				}
			}
		})
	}
}
