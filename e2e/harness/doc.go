// Package harness is SpO₂'s one test kit, for end-to-end tests, browser
// tests, unit tests and the load harness alike:
//
//   - process.go, build.go, testprocess.go: build the real spo2 binary once,
//     start it on kernel-chosen loopback ports with a temp DB_PATH, stop,
//     kill, restart it, read its logs, and check it exited cleanly without a
//     data race report;
//   - targets.go: health endpoints on 127.0.0.1 whose behaviour the test
//     switches (healthy, 503, any code, hang, slow body, endless body,
//     connection reset, redirect), optionally observing every request, raw
//     non-HTTP servers and closed ports;
//   - wsclient.go, shapes.go, request.go, api.go: a WebSocket client
//     collecting SpO₂ events, the API's JSON shapes, one-shot HTTP requests,
//     and the API calls most tests make (PUT, GET /status, GET /all, one
//     metric);
//   - slacklines.go: the event lines of the messages the fake Slack got;
//   - etcd.go: a real one-member etcd for the cluster-mode tests;
//   - poll.go: waiting for a condition with a deadline;
//   - buffer.go: a byte buffer safe for concurrent writers.
//
// The fake Slack incoming webhook lives beside the code it fakes, in
// actors/slack/slacktest, as net/http/httptest does for net/http.
//
// Everything listens on 127.0.0.1 only, and everything a test starts is
// stopped at its cleanup.
package harness
