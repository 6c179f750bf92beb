package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/target"
)

// Classify names the kind of a probe error and gives a readable message that
// contains the kind's word ("connection refused", "timeout after 5s", …).
//
// The message is a fixed description chosen by the kind of failure: it never
// carries bytes the target sent (a banner, a status line, names in its
// certificate), so the error field cannot be used to read what listens on
// an address. DNS failures name the host of the URL, which the caller gave.
func Classify(err error, timeout time.Duration) (health.ErrorKind, string) {
	var (
		dnsErr   *net.DNSError
		netErr   net.Error
		hsErr    *handshakeError
		recErr   tls.RecordHeaderError
		certErr  *tls.CertificateVerificationError
		opErr    *net.OpError
		protoErr *protocolError
		errno    syscall.Errno
		hasErrno = errors.As(err, &errno)
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return health.KindTimeout, fmt.Sprintf("timeout after %s", timeout)
	case errors.Is(err, context.Canceled):
		return health.KindOther, "other: probe cancelled"
	case errors.Is(err, target.ErrNotAllowed):
		return health.KindOther, "other: the target's address is not allowed by ALLOWED_TARGETS"
	case errors.As(err, &dnsErr):
		return health.KindDNS, fmt.Sprintf("dns lookup of %s failed: %s", dnsErr.Name, dnsReason(dnsErr))
	case hasErrno && errno == syscall.ECONNREFUSED:
		return health.KindRefused, "connection refused"
	case hasErrno && (errno == syscall.ECONNRESET || errno == syscall.EPIPE):
		return health.KindReset, "connection reset by peer"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return health.KindReset, "connection reset: server closed the connection without a complete response"
	case errors.As(err, &certErr):
		return health.KindTLS, "tls: " + certReason(certErr.Err)
	case errors.As(err, &recErr):
		if string(recErr.RecordHeader[:]) == "HTTP/" {
			return health.KindTLS, "tls: the server answered plain HTTP to a TLS handshake"
		}
		return health.KindTLS, "tls: the server did not answer with TLS"
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		return health.KindTLS, "tls: the server refused the handshake (" + alertName(opErr.Err) + ")"
	case errors.As(err, &hsErr):
		return health.KindTLS, "tls: handshake failed"
	case errors.As(err, &protoErr):
		return health.KindProtocol, protoErr.reason
	case isProtocolError(err):
		return health.KindProtocol, protocolReason(err)
	case hasErrno:
		return health.KindOther, "other: " + errno.Error() // the local system's words
	}
	return health.KindOther, "other: request failed"
}

// judge fills in out for a probe that failed with err: its kind and message,
// and whether it is Inconclusive — a failure because SpO₂ ran out of
// descriptors or ports (a sign of overload), or a timeout during which
// SpO₂'s scheduler stalled (see Overload.Doubtful).
func judge(out *health.Outcome, err error, start time.Time, timeout time.Duration, overload *Overload) {
	out.Kind, out.Err = Classify(err, timeout)
	switch {
	case exhausted(err):
		overload.Signal("out of local resources: " + out.Err)
		out.Inconclusive = true
	case out.Kind == health.KindTimeout && overload.Doubtful(start, timeout):
		out.Inconclusive = true
	}
}

// exhausted reports errors that say SpO₂ itself ran out of something
// (descriptors, ports, socket memory): not the target's fault.
func exhausted(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.EADDRNOTAVAIL:
		return true
	}
	return false
}

func dnsReason(e *net.DNSError) string {
	switch {
	case e.IsNotFound:
		return "no such host"
	case e.IsTimeout:
		return "timeout"
	case e.IsTemporary:
		return "temporary failure"
	}
	return "resolver error"
}

func certReason(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &unknown):
		return "certificate signed by an unknown authority"
	case errors.As(err, &hostname):
		return "certificate is not valid for the URL's host"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "certificate expired or not yet valid"
	}
	return "certificate verification failed"
}

// alertName returns the name of a TLS alert, from crypto/tls's fixed table;
// an alert outside the table is just "alert".
func alertName(err error) string {
	name := strings.TrimPrefix(err.Error(), "tls: ")
	if strings.HasPrefix(name, "alert(") {
		return "alert"
	}
	return name
}

// protocolErrors are net/http's errors for answers that are not HTTP (a
// malformed status line or header, or bytes that are not a response at all),
// each with the fixed description shown instead of net/http's message, which
// quotes the bytes received.
var protocolErrors = []struct{ match, reason string }{
	{"server response headers exceeded", "protocol error: response headers too large"},
	{"malformed MIME header", "protocol error: malformed HTTP header"},
	{"invalid header", "protocol error: malformed HTTP header"},
	{"malformed HTTP", "protocol error: malformed HTTP response"},
	{"bad status", "protocol error: malformed HTTP response"},
	{"HTTP/1.x transport connection broken", "protocol error: malformed HTTP response"},
	{"unsupported protocol", "protocol error: unsupported protocol"},
}

// protocolError is an answer that is not HTTP, with a fixed description.
type protocolError struct{ reason string }

func (e *protocolError) Error() string { return e.reason }

func isProtocolError(err error) bool { return protocolReason(err) != "" }

func protocolReason(err error) string {
	msg := err.Error()
	for _, p := range protocolErrors {
		if strings.Contains(msg, p.match) {
			return p.reason
		}
	}
	return ""
}
