package probe

import (
	neturl "net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// keepAlive is the keep-alive policy both probers share: it counts watched
// URLs per host:port and says whether probes keep their connections.
type keepAlive struct {
	maxIdle int
	reuse   atomic.Bool // keep connections alive after a probe
	mu      sync.Mutex
	n       map[string]int
}

func newKeepAlive(maxIdle int) *keepAlive {
	k := &keepAlive{maxIdle: maxIdle}
	k.reuse.Store(maxIdle > 0)
	return k
}

// Watch tells the prober that url is watched. The prober counts distinct
// host:port pairs and keeps connections alive only while they all fit its
// idle pool: with more hosts than idle slots, a kept connection is evicted
// before its host is probed again, so keeping it costs memory and churn and
// saves no dial. Each Watch must be matched by one Unwatch of the same URL.
func (k *keepAlive) Watch(url string) { k.countHost(url, 1) }

// Unwatch undoes one Watch of url.
func (k *keepAlive) Unwatch(url string) { k.countHost(url, -1) }

func (k *keepAlive) countHost(url string, delta int) {
	h := hostOf(url)
	k.mu.Lock()
	if k.n == nil {
		k.n = make(map[string]int)
	}
	if k.n[h] += delta; k.n[h] <= 0 {
		delete(k.n, h)
	}
	n := len(k.n)
	k.mu.Unlock()
	k.reuse.Store(k.maxIdle > 0 && n <= k.maxIdle)
}

// KeepsAlive reports whether probes currently keep their connections.
func (k *keepAlive) KeepsAlive() bool { return k.reuse.Load() }

// hostOf returns the host:port a URL's probes connect to.
func hostOf(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return raw
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return strings.ToLower(u.Hostname()) + ":" + port
}
