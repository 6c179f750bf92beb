package probe

import (
	"errors"
	"strings"
	"syscall"
)

const (
	errConnRefused = syscall.ECONNREFUSED
	errConnReset   = syscall.ECONNRESET
	errBrokenPipe  = syscall.EPIPE
)

func isErrno(err error, want syscall.Errno) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) && errno == want
}

// isProtocolError recognises net/http's errors for answers that are not HTTP:
// a malformed status line or header, or bytes that are not a response at all.
func isProtocolError(err error) bool {
	msg := err.Error()
	for _, s := range []string{"malformed HTTP", "HTTP/1.x transport connection broken", "server response headers exceeded", "unsupported protocol", "bad status", "invalid header", "server gave HTTP response to HTTPS client"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
