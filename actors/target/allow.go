package target

import (
	"errors"
	"fmt"
	"net/netip"
	neturl "net/url"
	"strings"
)

// ErrNotAllowed marks a target that the Policy refuses.
var ErrNotAllowed = errors.New("target not allowed by ALLOWED_TARGETS")

// Policy says which targets SpO₂ may probe. It is a list of rules, each an
// address range (10.0.0.0/8, fd00::/8, or one address: 127.0.0.1) or a host
// name pattern (localhost, pod-7.example, or *.svc.cluster.local for any name
// below svc.cluster.local, not the name itself). Names compare
// case-insensitively.
//
// A URL whose host is a name matching a pattern is allowed wherever the name
// resolves. Any other URL is allowed only through the addresses it connects
// to: an address in the URL must be in a range, and a name matching no
// pattern is accepted at registration when ranges exist, but every address
// it resolves to is checked when a probe connects (AllowsAddr), so a name
// that resolves somewhere else later is still refused.
//
// The nil Policy allows everything. A Policy is read-only after
// ParsePolicy and safe for concurrent use.
type Policy struct {
	spec     string // the rules as given, for messages
	prefixes []netip.Prefix
	names    map[string]bool // exact names
	suffixes []string        // ".svc.cluster.local" for *.svc.cluster.local
}

// ParsePolicy reads comma-separated rules. An empty spec gives the nil
// Policy (everything allowed); a spec with a rule that is neither an address,
// a range nor a host pattern is an error naming that rule.
func ParsePolicy(spec string) (*Policy, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	p := &Policy{names: map[string]bool{}}
	var rules []string
	for _, raw := range strings.Split(spec, ",") {
		rule := strings.ToLower(strings.TrimSpace(raw))
		if rule == "" {
			continue
		}
		rules = append(rules, rule)
		if strings.Contains(rule, "/") {
			pfx, err := netip.ParsePrefix(rule)
			if err != nil {
				return nil, fmt.Errorf("rule %q is not an address range like 10.0.0.0/8", rule)
			}
			p.prefixes = append(p.prefixes, pfx.Masked())
			continue
		}
		if a, err := netip.ParseAddr(strings.Trim(rule, "[]")); err == nil {
			a = a.Unmap().WithZone("")
			p.prefixes = append(p.prefixes, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		name, wild := strings.CutPrefix(rule, "*.")
		if !validName(name) {
			return nil, fmt.Errorf("rule %q is not an address, a range (10.0.0.0/8) or a host pattern (localhost, *.svc.cluster.local)", rule)
		}
		if wild {
			p.suffixes = append(p.suffixes, "."+name)
		} else {
			p.names[name] = true
		}
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("no rules in %q", spec)
	}
	p.spec = strings.Join(rules, ",")
	return p, nil
}

// validName accepts dot-separated labels of letters, digits, '-' and '_'.
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// String returns the rules, normalised and comma-separated.
func (p *Policy) String() string {
	if p == nil {
		return ""
	}
	return p.spec
}

// CheckURL tells whether a URL may be registered: nil when its host is
// allowed (or may be, once resolved: see Policy), else an error wrapping
// ErrNotAllowed that names the host and the rules. A URL that does not parse
// is left to the caller's own validation.
func (p *Policy) CheckURL(raw string) error {
	if p == nil {
		return nil
	}
	u, err := neturl.Parse(raw)
	if err != nil {
		return nil
	}
	host := u.Hostname()
	if a, ok := parseAddr(host); ok {
		if p.AllowsAddr(a) {
			return nil
		}
	} else if p.AllowsName(host) || len(p.prefixes) > 0 {
		return nil
	}
	return fmt.Errorf("url host %q: %w=%s", host, ErrNotAllowed, p.spec)
}

// AllowsName reports whether host (a name, not an address) matches a name
// pattern; such a host is probed wherever it resolves.
func (p *Policy) AllowsName(host string) bool {
	if p == nil {
		return true
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if p.names[host] {
		return true
	}
	for _, s := range p.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// AllowsAddr reports whether a probe may connect to a (IPv4-mapped IPv6
// addresses count as IPv4).
func (p *Policy) AllowsAddr(a netip.Addr) bool {
	if p == nil {
		return true
	}
	a = a.Unmap().WithZone("")
	for _, pfx := range p.prefixes {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr reads an address literal (IPv6 without brackets, with or without
// a zone).
func parseAddr(host string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(host)
	return a, err == nil
}
