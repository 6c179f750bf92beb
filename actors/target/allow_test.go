package target

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		spec    string
		wantErr string // part of the error; "" for none
		nilPol  bool
	}{
		{spec: "", nilPol: true},
		{spec: "  ", nilPol: true},
		{spec: "10.0.0.0/8,*.svc.cluster.local,localhost,127.0.0.1,fd00::/8,[::1]"},
		{spec: "10.0.0.0/33", wantErr: `rule "10.0.0.0/33" is not an address range`},
		{spec: "http://pod-1/", wantErr: `rule "http://pod-1/" is not an address range`},
		{spec: "pod*.example", wantErr: `rule "pod*.example" is not an address`},
		{spec: "*", wantErr: `rule "*" is not an address`},
		{spec: ",,", wantErr: "no rules"},
	}
	for _, tc := range tests {
		p, err := ParsePolicy(tc.spec)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParsePolicy(%q) error %v, want one containing %q", tc.spec, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("ParsePolicy(%q): %v", tc.spec, err)
		case tc.wantErr == "" && (p == nil) != tc.nilPol:
			t.Errorf("ParsePolicy(%q) = %v, nil policy %v", tc.spec, p, tc.nilPol)
		}
	}
}

func TestPolicyCheckURL(t *testing.T) {
	p, err := ParsePolicy("10.0.0.0/8, *.svc.cluster.local, LOCALHOST, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	namesOnly, err := ParsePolicy("*.svc.cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		p       *Policy
		url     string
		allowed bool
	}{
		{p, "http://10.0.3.7:7700/health", true},
		{p, "http://pod-7.search.svc.cluster.local:7700/", true},
		{p, "http://POD-7.Search.SVC.cluster.local./", true},
		{namesOnly, "http://svc.cluster.local/", false}, // the pattern is for names below it
		{p, "http://localhost:8080/", true},
		{p, "http://[fd00::7]:80/", true},
		{p, "http://[::ffff:10.1.2.3]/", true}, // IPv4-mapped
		{p, "http://169.254.169.254/latest/meta-data/", false},
		{p, "http://127.0.0.1:22/", false},
		{p, "http://0.0.0.0/", false},
		{p, "http://[::1]/", false},
		{p, "http://[::ffff:127.0.0.1]/", false},
		// A name matching no pattern is accepted while ranges exist: its
		// addresses are checked when a probe connects.
		{p, "http://pod.example.com/", true},
		{namesOnly, "http://pod.example.com/", false},
		{namesOnly, "http://10.0.3.7/", false},
		{nil, "http://169.254.169.254/", true},
	}
	for _, tc := range tests {
		err := tc.p.CheckURL(tc.url)
		if (err == nil) != tc.allowed {
			t.Errorf("%v CheckURL(%s) = %v, want allowed %v", tc.p, tc.url, err, tc.allowed)
		}
		if err != nil && (!errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), "ALLOWED_TARGETS="+tc.p.String())) {
			t.Errorf("CheckURL(%s) error %q does not name the variable and its rules", tc.url, err)
		}
	}
}

func TestPolicyAllowsAddr(t *testing.T) {
	p, err := ParsePolicy("10.0.0.0/8,127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr    string
		allowed bool
	}{
		{"10.255.0.1", true},
		{"127.0.0.1", true},
		{"127.0.0.2", false},
		{"::ffff:10.0.0.1", true},
		{"169.254.169.254", false},
		{"::1", false},
	}
	for _, tc := range tests {
		if got := p.AllowsAddr(netip.MustParseAddr(tc.addr)); got != tc.allowed {
			t.Errorf("AllowsAddr(%s) = %v, want %v", tc.addr, got, tc.allowed)
		}
	}
}
