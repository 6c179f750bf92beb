package probe

import (
	"encoding/base64"
	"errors"
	"net"
	neturl "net/url"
	"strings"
)

// userAgent is the User-Agent of every probe.
const userAgent = "SpO2/1 (health probe)"

// probeTarget is what one probe needs of its URL: where to connect and what to
// send.
type probeTarget struct {
	key  connKey // where to connect: scheme and host:port
	host string  // the Host header: the URL's host, with its port if given
	uri  string  // the request URI: path and query
	auth string  // the Authorization header, empty when the URL has no userinfo
}

// connKey names the connections a target can share.
type connKey struct {
	secure bool
	addr   string // host:port
}

var (
	errScheme = errors.New("unsupported protocol scheme")
	errNoHost = errors.New("no host in the URL")
)

// parseTarget reads a probe's URL. The common form — http or https, a host
// of letters, digits, dots and dashes, an optional port, a plain path and
// query — is read without allocating (beyond the port, when it is implied);
// anything else goes through net/url, as net/http would send it.
func parseTarget(raw string) (probeTarget, error) {
	var t probeTarget
	rest, ok := cutSchemeFold(raw, "http://")
	if !ok {
		rest, ok = cutSchemeFold(raw, "https://")
		t.key.secure = true
	}
	if !ok {
		return parseTargetSlow(raw)
	}
	authority, uri := rest, ""
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		authority, uri = rest[:end], rest[end:]
	}
	if i := strings.IndexByte(uri, '#'); i >= 0 {
		uri = uri[:i]
	}
	host, port, ok := plainAuthority(authority)
	if !ok || !plainURI(uri) {
		return parseTargetSlow(raw)
	}
	switch {
	case uri == "":
		uri = "/"
	case uri[0] == '?':
		uri = "/" + uri
	}
	t.host, t.uri = authority, uri
	t.key.addr = authority
	if port == "" {
		t.key.addr = host + defaultPort(t.key.secure)
	}
	return t, nil
}

// parseTargetSlow reads any URL net/url accepts.
func parseTargetSlow(raw string) (probeTarget, error) {
	u, err := neturl.Parse(raw)
	if err != nil {
		return probeTarget{}, err
	}
	var t probeTarget
	switch strings.ToLower(u.Scheme) {
	case "http":
	case "https":
		t.key.secure = true
	default:
		return probeTarget{}, errScheme
	}
	if u.Hostname() == "" {
		return probeTarget{}, errNoHost
	}
	port := u.Port()
	if port == "" {
		port = defaultPort(t.key.secure)[1:]
	}
	t.key.addr = net.JoinHostPort(u.Hostname(), port)
	t.host, t.uri = u.Host, u.RequestURI()
	if u.User != nil { // user:password@ in the URL: basic auth
		pw, _ := u.User.Password()
		t.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw))
	}
	return t, nil
}

func defaultPort(secure bool) string {
	if secure {
		return ":443"
	}
	return ":80"
}

func cutSchemeFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

// plainAuthority splits host[:port] when the host is made of letters,
// digits, dots and dashes and the port of digits.
func plainAuthority(a string) (host, port string, ok bool) {
	host = a
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		host, port = a[:i], a[i+1:]
		if port == "" || len(port) > 5 {
			return "", "", false
		}
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return "", "", false
			}
		}
	}
	if host == "" {
		return "", "", false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return "", "", false
		}
	}
	return host, port, true
}

// plainURI reports whether a path and query need no escaping: unreserved
// characters, sub-delimiters, ':', '@', '/', '?' and valid percent escapes.
func plainURI(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:@/?", c) >= 0:
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// appendRequest appends the probe's GET request to b, with userHeader (the
// User-Agent line, "\r\nUser-Agent: …\r\n"); close asks the server to close
// the connection after answering.
func (t *probeTarget) appendRequest(b []byte, userHeader string, close bool) []byte {
	b = append(b, "GET "...)
	b = append(b, t.uri...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, t.host...)
	b = append(b, userHeader...)
	if t.auth != "" {
		b = append(b, "Authorization: "...)
		b = append(b, t.auth...)
		b = append(b, "\r\n"...)
	}
	if close {
		b = append(b, "Connection: close\r\n"...)
	}
	return append(b, "\r\n"...)
}
