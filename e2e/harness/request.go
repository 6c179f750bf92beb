package harness

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"
)

// NewClient returns the HTTP client of a test package: a request gives up
// after 60 s, a redirect is an answer (the tests look at them), and up to
// perHost connections to one host are kept open between requests.
func NewClient(perHost int) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: perHost,
			IdleConnTimeout:     30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Response is a whole HTTP answer, body read.
type Response struct {
	Code   int
	Header http.Header
	Body   []byte
}

// Send performs one request with client (body nil: none; header: key, value
// pairs) and reads the whole answer. It does not fail a test, so goroutines
// may use it.
func Send(client *http.Client, method, u string, body []byte, header ...string) (Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		return Response{}, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Code: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Do is Send for a test's own goroutine: it fails the test on a transport
// error.
func Do(t testing.TB, client *http.Client, method, u string, body []byte, header ...string) Response {
	t.Helper()
	r, err := Send(client, method, u, body, header...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	return r
}
