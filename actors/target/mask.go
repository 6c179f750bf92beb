// Package target holds what SpO₂ knows about a watched URL as a target:
// how to show it without its secrets, and whether it may be probed at all.
package target

import (
	"net/url"
	"strings"
)

// Secret is what replaces a secret in a shown URL.
const Secret = "****"

// secretParams are query parameter names whose values are masked, compared
// case-insensitively.
var secretParams = map[string]bool{
	"password": true, "passwd": true, "pwd": true, "pass": true,
	"token": true, "access_token": true, "auth": true, "secret": true,
	"api_key": true, "apikey": true, "key": true, "sig": true, "signature": true,
}

// isSecretParam reports whether a raw (possibly percent-encoded) query
// parameter name names a secret: "pass%77ord" is "password" to the target.
func isSecretParam(raw string) bool {
	if secretParams[strings.ToLower(raw)] {
		return true
	}
	name, err := url.QueryUnescape(raw)
	return err == nil && secretParams[strings.ToLower(name)]
}

// Mask returns raw with the password of its user information replaced by
// "****" (user:****@host) and the values of secret-looking query parameters
// (password, token, secret, key, …, also when their names are
// percent-encoded) masked the same way. Everything else is
// kept byte for byte, so the operator recognises the URL. It works on the raw
// text, so it also masks URLs that net/url refuses to parse.
func Mask(raw string) string {
	s := raw
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	}
	// The authority ends at the first '/', '?' or '#' after the scheme.
	end := len(s)
	if j := strings.IndexAny(s[start:], "/?#"); j >= 0 {
		end = start + j
	}
	authority := s[start:end]
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		userinfo := authority[:at]
		if colon := strings.IndexByte(userinfo, ':'); colon >= 0 {
			s = s[:start] + userinfo[:colon+1] + Secret + s[start+at:]
			end = start + colon + 1 + len(Secret) + (len(authority) - at)
		}
	}
	q := strings.IndexByte(s[end:], '?')
	if q < 0 {
		return s
	}
	q += end
	frag := len(s)
	if h := strings.IndexByte(s[q:], '#'); h >= 0 {
		frag = q + h
	}
	pairs := strings.Split(s[q+1:frag], "&")
	for i, p := range pairs {
		name, _, hasValue := strings.Cut(p, "=")
		if hasValue && isSecretParam(name) {
			pairs[i] = name + "=" + Secret
		}
	}
	return s[:q+1] + strings.Join(pairs, "&") + s[frag:]
}
