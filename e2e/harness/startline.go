package harness

import (
	"strconv"
	"strings"
)

// startLine is what spo2's one start log line says, e.g.
//
//	time=… level=INFO msg="spo2 started" http=127.0.0.1:41711 ws=127.0.0.1:36153 urls=0 tls=false …
type startLine struct {
	HTTP, WS string
	TLS      bool
}

// findStartLine finds the "spo2 started" line in logs (slog's text format)
// and reads its http, ws and tls attributes.
func findStartLine(logs string) (startLine, bool) {
	for _, line := range strings.Split(logs, "\n") {
		attrs := textAttrs(line)
		if attrs["msg"] != "spo2 started" || attrs["http"] == "" || attrs["ws"] == "" {
			continue
		}
		return startLine{HTTP: attrs["http"], WS: attrs["ws"], TLS: attrs["tls"] == "true"}, true
	}
	return startLine{}, false
}

// textAttrs splits one slog text line into its key=value pairs, unquoting
// quoted values. A line that is not key=value pairs yields what it can.
func textAttrs(line string) map[string]string {
	attrs := map[string]string{}
	for line != "" {
		line = strings.TrimLeft(line, " ")
		eq := strings.IndexByte(line, '=')
		if eq <= 0 || strings.ContainsAny(line[:eq], " \"") {
			return attrs
		}
		key, rest := line[:eq], line[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return attrs
			}
			val, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else if sp := strings.IndexByte(rest, ' '); sp >= 0 {
			val, rest = rest[:sp], rest[sp:]
		} else {
			val, rest = rest, ""
		}
		attrs[key] = val
		line = rest
	}
	return attrs
}
