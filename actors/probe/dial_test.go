package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/target"
	"github.com/spo2/spo2/e2e/harness"
)

// TestProbeReturnsOnlyWhenItsDialsAreGone checks that a probe's pool slot
// covers its connection attempts: when Probe returns, nothing it started is
// still dialling or handshaking.
func TestProbeReturnsOnlyWhenItsDialsAreGone(t *testing.T) {
	urls := []string{"https://" + harness.SilentServer(t) + "/", "http://" + blackholeServer(t) + "/"}
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			p := impl.new(Options{MaxIdleConns: 16, IdleConnTimeout: time.Minute})
			defer p.Close()
			var wg sync.WaitGroup
			for range 10 {
				for _, u := range urls {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if o := p.Probe(context.Background(), u, 200*time.Millisecond, health.DefaultExpect); o.Kind != health.KindTimeout {
							t.Errorf("%s: outcome %+v, want a timeout", u, o)
						}
					}()
				}
			}
			wg.Wait()
			if n := p.Dialing(); n != 0 {
				t.Fatalf("%d dials still open after every probe returned", n)
			}
			// A probe cancelled from outside (shutdown) ends its dial too.
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan health.Outcome)
			go func() { done <- p.Probe(ctx, urls[1], time.Hour, health.DefaultExpect) }()
			for deadline := time.Now().Add(5 * time.Second); p.Dialing() == 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the probe never started dialling")
				}
			}
			cancel()
			<-done
			if n := p.Dialing(); n != 0 {
				t.Fatalf("%d dials still open after a cancelled probe returned", n)
			}
		})
	}
}

// TestAllowedTargetsAtDialTime checks the policy against the address a
// probe actually connects to, whatever the URL says.
func TestAllowedTargetsAtDialTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tlsSrv.Close()
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	tlsPort := tlsSrv.URL[strings.LastIndexByte(tlsSrv.URL, ':'):]
	tests := []struct {
		rules   string
		url     string
		allowed bool
	}{
		{"", "http://127.0.0.1" + port + "/", true},
		{"127.0.0.0/8", "http://127.0.0.1" + port + "/", true},
		{"127.0.0.0/8", "https://127.0.0.1" + tlsPort + "/", true},
		{"10.0.0.0/8", "http://127.0.0.1" + port + "/", false},
		{"10.0.0.0/8", "https://127.0.0.1" + tlsPort + "/", false},
		// localhost matches no pattern: the address it resolves to decides.
		{"10.0.0.0/8", "http://localhost" + port + "/", false},
		{"127.0.0.1,::1", "http://localhost" + port + "/", true},
		// A name pattern allows the name wherever it resolves.
		{"localhost", "http://localhost" + port + "/", true},
		{"localhost", "http://127.0.0.1" + port + "/", false},
	}
	for _, tc := range tests {
		policy, err := target.ParsePolicy(tc.rules)
		if err != nil {
			t.Fatal(err)
		}
		for _, impl := range implementations {
			p := impl.new(Options{Allow: policy, InsecureSkipVerify: true})
			o := p.Probe(context.Background(), tc.url, 2*time.Second, health.DefaultExpect)
			p.Close()
			if tc.allowed && o.Verdict() != health.Healthy {
				t.Errorf("%s: rules %q, %s: outcome %+v, want healthy", impl.name, tc.rules, tc.url, o)
			}
			if !tc.allowed && (o.Kind != health.KindOther || !strings.Contains(o.Err, "not allowed by ALLOWED_TARGETS")) {
				t.Errorf("%s: rules %q, %s: outcome %+v, want refused by the policy", impl.name, tc.rules, tc.url, o)
			}
		}
	}
}
