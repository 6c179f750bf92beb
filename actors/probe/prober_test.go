package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/target"
	"github.com/spo2/spo2/e2e/harness"
)

func TestProbeOutcomes(t *testing.T) {
	var redirectTargetHits atomic.Int32
	redirectTarget := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirectTargetHits.Add(1)
	}))
	defer redirectTarget.Close()
	stopHang := make(chan struct{})
	defer close(stopHang)

	handlers := map[string]http.HandlerFunc{
		"ok": func(w http.ResponseWriter, r *http.Request) {},
		"auth": func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "ops" || p != "s3cret" {
				w.WriteHeader(http.StatusUnauthorized)
			}
		},
		"503": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) },
		"204": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) },
		"redirect": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, redirectTarget.URL, http.StatusFound)
		},
		"hang": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-stopHang:
			}
		},
		"huge": func(w http.ResponseWriter, r *http.Request) {
			chunk := []byte(strings.Repeat("x", 64<<10))
			for i := 0; i < 1024; i++ { // 64 MiB unless the prober hangs up
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		},
		"trickle": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			for {
				if _, err := w.Write([]byte("x")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-stopHang:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		},
	}
	servers := map[string]string{}
	for name, h := range handlers {
		s := httptest.NewServer(h)
		defer s.Close()
		servers[name] = s.URL + "/"
	}
	servers["auth-given"] = strings.Replace(servers["auth"], "http://", "http://ops:s3cret@", 1)
	servers["refused"] = harness.ClosedPortURL(t, "/")
	servers["reset"] = harness.RawServer(t, harness.ResetConnection)
	servers["eof"] = harness.RawServer(t, func(net.Conn) {})
	servers["garbage"] = harness.RawServer(t, func(c net.Conn) { _, _ = io.WriteString(c, "SSH-2.0-OpenSSH-SECRET\r\n\r\n") })
	servers["bad-status"] = harness.RawServer(t, func(c net.Conn) { _, _ = io.WriteString(c, "HTTP/1.1 INTERNAL-SECRET-BANNER\r\n\r\n") })
	servers["bad-header"] = harness.RawServer(t, func(c net.Conn) {
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nSECRET header line\r\n\r\n")
	})
	tlsSrv := httptest.NewTLSServer(handlers["ok"])
	defer tlsSrv.Close()
	servers["tls-untrusted"] = tlsSrv.URL + "/"
	servers["plain-to-tls"] = strings.Replace(servers["ok"], "http://", "https://", 1)

	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			p := impl.new(Options{MaxIdleConns: 16, IdleConnTimeout: time.Second})
			defer p.Close()
			timeout := 400 * time.Millisecond

			tests := []struct {
				target  string
				expect  string
				verdict health.State
				code    int
				kind    health.ErrorKind
			}{
				{"ok", "200-399", health.Healthy, 200, ""},
				{"auth", "200-399", health.Unhealthy, 401, ""},
				{"auth-given", "200-399", health.Healthy, 200, ""}, // user:password@ becomes basic auth
				{"503", "200-399", health.Unhealthy, 503, ""},
				{"204", "200", health.Unhealthy, 204, ""},
				{"204", "200-299", health.Healthy, 204, ""},
				{"redirect", "200-399", health.Healthy, 302, ""},
				{"redirect", "200", health.Unhealthy, 302, ""},
				{"huge", "200-399", health.Healthy, 200, ""},
				{"hang", "200-399", health.Unreachable, 0, health.KindTimeout},
				// Headers arrived: the verdict is the code; the slow body only costs the timeout.
				{"trickle", "200-399", health.Healthy, 200, ""},
				{"refused", "200-399", health.Unreachable, 0, health.KindRefused},
				{"reset", "200-399", health.Unreachable, 0, health.KindReset},
				{"eof", "200-399", health.Unreachable, 0, health.KindReset},
				{"garbage", "200-399", health.Unreachable, 0, health.KindProtocol},
				{"bad-status", "200-399", health.Unreachable, 0, health.KindProtocol},
				{"bad-header", "200-399", health.Unreachable, 0, health.KindProtocol},
				{"tls-untrusted", "200-399", health.Unreachable, 0, health.KindTLS},
				{"plain-to-tls", "200-399", health.Unreachable, 0, health.KindTLS},
			}
			for _, tc := range tests {
				t.Run(tc.target+"/"+tc.expect, func(t *testing.T) {
					start := time.Now()
					o := p.Probe(context.Background(), servers[tc.target], timeout, health.MustParseExpect(tc.expect))
					took := time.Since(start)
					if o.Verdict() != tc.verdict || o.Code != tc.code || o.Kind != tc.kind {
						t.Fatalf("outcome %+v: verdict %s code %d kind %q, want %s %d %q", o, o.Verdict(), o.Code, o.Kind, tc.verdict, tc.code, tc.kind)
					}
					if tc.kind != "" && !strings.Contains(o.Err, string(tc.kind)) {
						t.Fatalf("error %q does not contain its kind %q", o.Err, tc.kind)
					}
					if strings.Contains(o.Err, "SECRET") || strings.Contains(o.Err, "127.0.0.1") || strings.Contains(o.Err, "example.com") {
						t.Fatalf("error %q echoes what the target sent", o.Err)
					}
					if took > timeout+time.Second {
						t.Fatalf("probe took %s, more than its timeout %s allows", took, timeout)
					}
				})
			}
		})
	}
	if n := redirectTargetHits.Load(); n != 0 {
		t.Fatalf("redirect was followed %d times", n)
	}
}

func TestClassify(t *testing.T) {
	secretCert := &x509.Certificate{DNSNames: []string{"SECRET.internal"}}
	tests := []struct {
		err  error
		kind health.ErrorKind
		msg  string
	}{
		{&net.DNSError{Name: "pod-7.invalid", Err: "no such host", IsNotFound: true}, health.KindDNS, "dns lookup of pod-7.invalid failed: no such host"},
		{&net.OpError{Op: "dial", Err: &osSyscallError{syscall.ECONNREFUSED}}, health.KindRefused, "connection refused"},
		{&net.OpError{Op: "read", Err: &osSyscallError{syscall.ECONNRESET}}, health.KindReset, "connection reset by peer"},
		{context.DeadlineExceeded, health.KindTimeout, "timeout after 5s"},
		{io.ErrUnexpectedEOF, health.KindReset, "connection reset: server closed the connection without a complete response"},
		{&handshakeError{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}}, health.KindTLS, "tls: the server did not answer with TLS"},
		{&handshakeError{&tls.CertificateVerificationError{Err: x509.HostnameError{Certificate: secretCert, Host: "pod-7"}}}, health.KindTLS, "tls: certificate is not valid for the URL's host"},
		{&handshakeError{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{Cert: secretCert}}}, health.KindTLS, "tls: certificate signed by an unknown authority"},
		{&handshakeError{errors.New("tls: server selected unsupported protocol version SECRET")}, health.KindTLS, "tls: handshake failed"},
		{errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP response "SSH-2.0-SECRET"`), health.KindProtocol, "protocol error: malformed HTTP response"},
		{errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP status code "INTERNAL-SECRET-BANNER"`), health.KindProtocol, "protocol error: malformed HTTP response"},
		{errors.New(`net/http: HTTP/1.x transport connection broken: malformed MIME header line: SECRET`), health.KindProtocol, "protocol error: malformed HTTP header"},
		{&net.OpError{Op: "dial", Err: fmt.Errorf("address 10.0.0.1:80: %w", target.ErrNotAllowed)}, health.KindOther, "other: the target's address is not allowed by ALLOWED_TARGETS"},
		{&net.OpError{Op: "dial", Err: &osSyscallError{syscall.EHOSTUNREACH}}, health.KindOther, "other: no route to host"},
		{errors.New("something else SECRET"), health.KindOther, "other: request failed"},
	}
	for _, tc := range tests {
		kind, msg := Classify(tc.err, 5*time.Second)
		if kind != tc.kind || msg != tc.msg {
			t.Errorf("Classify(%v) = %s %q, want %s %q", tc.err, kind, msg, tc.kind, tc.msg)
		}
		if !strings.Contains(msg, string(kind)) {
			t.Errorf("Classify(%v) message %q lacks the word %q", tc.err, msg, kind)
		}
	}
}

type osSyscallError struct{ errno syscall.Errno }

func (e *osSyscallError) Error() string { return e.errno.Error() }
func (e *osSyscallError) Unwrap() error { return e.errno }
