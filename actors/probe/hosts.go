package probe

import (
	neturl "net/url"
	"strings"
	"sync"
)

// hosts counts watched URLs per host:port.
type hosts struct {
	mu sync.Mutex
	n  map[string]int
}

// Watch tells the prober that url is watched. The prober counts distinct
// host:port pairs and keeps connections alive only while they all fit its
// idle pool: with more hosts than idle slots, a kept connection is evicted
// before its host is probed again, so keeping it costs memory and churn and
// saves no dial. Each Watch must be matched by one Unwatch of the same URL.
func (p *Prober) Watch(url string) { p.countHost(url, 1) }

// Unwatch undoes one Watch of url.
func (p *Prober) Unwatch(url string) { p.countHost(url, -1) }

func (p *Prober) countHost(url string, delta int) {
	h := hostOf(url)
	p.hosts.mu.Lock()
	if p.hosts.n == nil {
		p.hosts.n = make(map[string]int)
	}
	if p.hosts.n[h] += delta; p.hosts.n[h] <= 0 {
		delete(p.hosts.n, h)
	}
	n := len(p.hosts.n)
	p.hosts.mu.Unlock()
	p.reuse.Store(p.maxIdle > 0 && n <= p.maxIdle)
}

// KeepsAlive reports whether probes currently keep their connections.
func (p *Prober) KeepsAlive() bool { return p.reuse.Load() }

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
