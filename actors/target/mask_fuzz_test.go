package target

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzMask feeds arbitrary text to Mask: it must never panic, masking twice
// must change nothing more, a password that net/url finds in an absolute URL
// must not survive, and text without user information or query is kept byte
// for byte.
func FuzzMask(f *testing.F) {
	for _, seed := range []string{
		"http://10.0.3.7:7700/health", "https://admin:s3cret@db.example.com:8443/health",
		"https://admin:p%40ss:word@host/x", "http://u:p@host?token=abc&x=1#frag", "http://host/h?Password=x&api_key=y&keep=z",
		"http://u:p@[::1]:80/", "://", "a://b:c@", "http://host/a@b", "?token=x", "http://x?#", "http://u:p#@h/",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		m := Mask(raw)
		if again := Mask(m); again != m {
			t.Fatalf("Mask is not idempotent: %q → %q → %q", raw, m, again)
		}
		if !strings.ContainsAny(raw, "@?") && m != raw {
			t.Fatalf("Mask(%q) = %q: nothing to mask, yet changed", raw, m)
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" || u.User == nil {
			return // watched URLs are absolute; "//u:p@h" is not one
		}
		if pw, ok := u.User.Password(); ok && pw != Secret {
			mu, err := url.Parse(m)
			if err != nil {
				t.Fatalf("Mask(%q) = %q, which no longer parses: %v", raw, m, err)
			}
			if got, _ := mu.User.Password(); got != Secret {
				t.Fatalf("Mask(%q) = %q: password %q shown as %q", raw, m, pw, got)
			}
		}
	})
}
