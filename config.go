package main

import (
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/target"
)

// config is SpO₂'s configuration (README.md lists it): environment variables, each
// also settable by a flag of the same name in lower case with dashes
// (HTTP_LISTEN_ADDR → -http-listen-addr). A flag wins over the variable.
type config struct {
	HTTPAddr       string
	WSAddr         string
	SlackHookURL   string
	DBPath         string
	DBMinFree      uint64
	Defaults       health.Settings
	SlackBatchSize int
	SlackWindow    time.Duration
	SlackBacklog   int
	MaxInFlight    int
	WSPing         time.Duration
	WSQueue        int
	WSResume       int
	APIToken       string
	TLSCert        string
	TLSKey         string
	LogLevel       string
	MaxIdleConns   int
	AllowedTargets *target.Policy // nil: every target allowed
	HistoryLimit   int            // state changes kept per URL

	// Cluster mode (docs/cluster.md): ClusterEtcd nil means single node.
	ClusterEtcd   []string
	ClusterName   string
	ClusterAddr   string
	ClusterMember string
}

// setting is one configuration variable with its default and description.
type setting struct {
	env, def, help string
}

var settings = []setting{
	{"HTTP_LISTEN_ADDR", "127.0.0.1:8000", "HTTP API, dashboard, /ws and /metrics"},
	{"WS_LISTEN_ADDR", "127.0.0.1:8001", "dedicated WebSocket listener (any path)"},
	{"SLACK_HOOK_URL", "", "Slack incoming-webhook URL (unset: Slack off)"},
	{"DB_PATH", "spo2.db", "Badger directory"},
	{"DB_MIN_FREE", "64MiB", "free space kept on DB_PATH's filesystem: writes that would leave less are refused with 507 (bytes, or KiB, MiB, GiB)"},
	{"PROBE_INTERVAL", "10s", "default interval between probes"},
	{"PROBE_TIMEOUT", "5s", "default probe timeout (unset: 5s capped to half the interval)"},
	{"FAILURE_THRESHOLD", "3", "consecutive failures before a healthy URL turns failing"},
	{"SUCCESS_THRESHOLD", "1", "consecutive successes before a failing URL turns healthy"},
	{"SLACK_BATCH_SIZE", "40", "most events in one Slack message (1-40)"},
	{"SLACK_BATCH_WINDOW", "5s", "longest wait before a non-full batch is sent"},
	{"MAX_PROBES_IN_FLIGHT", "1024", "global bound on concurrent probes"},
	{"SLACK_MAX_BACKLOG", "10000", "events waiting for Slack before the oldest are folded into a count"},
	{"WS_PING_INTERVAL", "30s", "ping idle WebSocket clients at this interval"},
	{"WS_CLIENT_QUEUE", "1024", "events queued for one WebSocket client before it is cut"},
	{"WS_RESUME_BUFFER", "10000", "last events kept for WebSocket clients that resume with ?since= (0: none)"},
	{"API_TOKEN", "", "when set, every route but /healthz requires Authorization: Bearer <token>"},
	{"TLS_CERT_FILE", "", "TLS certificate (with TLS_KEY_FILE: both listeners serve TLS)"},
	{"TLS_KEY_FILE", "", "TLS private key"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
	{"PROBE_MAX_IDLE_CONNS", "4096", "kept-alive idle probe connections across all targets (0: no keep-alive)"},
	{"ALLOWED_TARGETS", "", "comma-separated address ranges and host patterns probes may reach, e.g. 10.0.0.0/8,*.svc.cluster.local (unset: any)"},
	{"HISTORY_LIMIT", "100", "state changes kept per URL for GET /history and uptime (1-1000)"},
	{"CLUSTER_ETCD", "", "comma-separated etcd endpoints: run as a member of a cluster (unset: single node)"},
	{"CLUSTER_NAME", "spo2", "cluster name, also the etcd key prefix /<name>/"},
	{"CLUSTER_ADDR", "127.0.0.1:0", "host:port of this member's actor remoting, advertised to the other members (in Kubernetes: the pod IP)"},
	{"CLUSTER_MEMBER", "", "member name in logs, /healthz, metrics and the probe User-Agent (unset: host name and CLUSTER_ADDR's port)"},
}

func flagName(env string) string { return strings.ToLower(strings.ReplaceAll(env, "_", "-")) }

// loadConfig reads the environment, then the flags in args. The error names
// the variable and the value.
func loadConfig(args []string) (config, error) {
	fs := flag.NewFlagSet("spo2", flag.ContinueOnError)
	raw := make(map[string]*string, len(settings))
	given := make(map[string]bool, len(settings))
	for _, s := range settings {
		v := s.def
		if e, ok := os.LookupEnv(s.env); ok {
			v = e
			given[s.env] = true
		}
		raw[s.env] = fs.String(flagName(s.env), v, s.help+" ($"+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	fs.Visit(func(f *flag.Flag) { given[strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))] = true })
	p := parser{raw: raw}
	c := config{
		HTTPAddr:     p.addr("HTTP_LISTEN_ADDR"),
		WSAddr:       p.addr("WS_LISTEN_ADDR"),
		SlackHookURL: p.str("SLACK_HOOK_URL"),
		DBPath:       p.str("DB_PATH"),
		DBMinFree:    p.size("DB_MIN_FREE", 64<<20, 1<<40),
		Defaults: health.Settings{
			Interval:         p.duration("PROBE_INTERVAL"),
			Timeout:          p.duration("PROBE_TIMEOUT"),
			FailureThreshold: p.intIn("FAILURE_THRESHOLD", 1, 100),
			SuccessThreshold: p.intIn("SUCCESS_THRESHOLD", 1, 100),
			Expect:           health.DefaultExpect,
			// Without PROBE_TIMEOUT the built-in timeout is capped to half
			// of each URL's interval, so PROBE_INTERVAL=2s alone works.
			TimeoutDerived: !given["PROBE_TIMEOUT"],
		},
		SlackBatchSize: p.intIn("SLACK_BATCH_SIZE", 1, 40),
		SlackWindow:    p.duration("SLACK_BATCH_WINDOW"),
		SlackBacklog:   p.intIn("SLACK_MAX_BACKLOG", 1, 10_000_000),
		MaxInFlight:    p.intIn("MAX_PROBES_IN_FLIGHT", 1, 100_000),
		WSPing:         p.duration("WS_PING_INTERVAL"),
		WSQueue:        p.intIn("WS_CLIENT_QUEUE", 1, 10_000_000),
		WSResume:       p.intIn("WS_RESUME_BUFFER", 0, 10_000_000),
		APIToken:       p.str("API_TOKEN"),
		TLSCert:        p.str("TLS_CERT_FILE"),
		TLSKey:         p.str("TLS_KEY_FILE"),
		LogLevel:       p.oneOf("LOG_LEVEL", "debug", "info", "warn", "error"),
		MaxIdleConns:   p.intIn("PROBE_MAX_IDLE_CONNS", 0, 20_000),
		AllowedTargets: p.policy("ALLOWED_TARGETS"),
		HistoryLimit:   p.intIn("HISTORY_LIMIT", 1, 1000),
		ClusterEtcd:    p.list("CLUSTER_ETCD"),
		ClusterName:    p.str("CLUSTER_NAME"),
		ClusterAddr:    p.addr("CLUSTER_ADDR"),
		ClusterMember:  p.str("CLUSTER_MEMBER"),
	}
	if p.err != nil {
		return c, p.err
	}
	if c.SlackHookURL != "" {
		if u, err := url.Parse(c.SlackHookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The webhook URL is a secret: name it, do not print it.
			return c, fmt.Errorf("SLACK_HOOK_URL (%d characters, not shown): not an absolute http(s) URL", len(c.SlackHookURL))
		}
	}
	// A configured PROBE_TIMEOUT must fit PROBE_INTERVAL as it is; the
	// built-in one is capped to fit.
	defaults := c.Defaults
	if defaults.TimeoutDerived {
		defaults = defaults.Effective()
	}
	if err := defaults.Validate(); err != nil {
		return c, fmt.Errorf("PROBE_INTERVAL=%s PROBE_TIMEOUT=%s: %v", c.Defaults.Interval, c.Defaults.Timeout, err)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, fmt.Errorf("TLS_CERT_FILE=%q TLS_KEY_FILE=%q: set both or neither", c.TLSCert, c.TLSKey)
	}
	if c.SlackWindow <= 0 || c.WSPing <= 0 {
		return c, fmt.Errorf("SLACK_BATCH_WINDOW=%s WS_PING_INTERVAL=%s: durations must be positive", c.SlackWindow, c.WSPing)
	}
	if c.DBPath == "" {
		return c, fmt.Errorf("DB_PATH is empty")
	}
	if c.ClusterEtcd != nil && (c.ClusterName == "" || strings.ContainsAny(c.ClusterName, "/ ")) {
		return c, fmt.Errorf("CLUSTER_NAME=%q: a name without '/' or spaces is needed in cluster mode", c.ClusterName)
	}
	return c, nil
}

// parser converts raw values, keeping the first error.
type parser struct {
	raw map[string]*string
	err error
}

func (p *parser) str(env string) string { return strings.TrimSpace(*p.raw[env]) }

// list splits a comma-separated value; nil when it is empty.
func (p *parser) list(env string) []string {
	var out []string
	for _, v := range strings.Split(p.str(env), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (p *parser) fail(env, format string, a ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%s=%q: %s", env, *p.raw[env], fmt.Sprintf(format, a...))
	}
}

func (p *parser) duration(env string) time.Duration {
	d, err := time.ParseDuration(p.str(env))
	if err != nil {
		p.fail(env, "not a duration like 10s or 1m30s")
	}
	return d
}

func (p *parser) intIn(env string, lo, hi int) int {
	n, err := strconv.Atoi(p.str(env))
	if err != nil || n < lo || n > hi {
		p.fail(env, "not a whole number in %d-%d", lo, hi)
	}
	return n
}

// size reads a byte count: a whole number, optionally followed by KiB, MiB
// or GiB.
func (p *parser) size(env string, lo, hi uint64) uint64 {
	v := p.str(env)
	unit := uint64(1)
	for suffix, u := range map[string]uint64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if n, ok := strings.CutSuffix(v, suffix); ok {
			v, unit = strings.TrimSpace(n), u
			break
		}
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > hi/unit || n*unit < lo || n*unit > hi {
		p.fail(env, "not a size from %d MiB to %d GiB, like 64MiB or 1GiB", lo>>20, hi>>30)
		return 0
	}
	return n * unit
}

func (p *parser) addr(env string) string {
	v := p.str(env)
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		p.fail(env, "not a host:port address")
	}
	return v
}

func (p *parser) policy(env string) *target.Policy {
	pol, err := target.ParsePolicy(p.str(env))
	if err != nil {
		p.fail(env, "%v", err)
	}
	return pol
}

func (p *parser) oneOf(env string, options ...string) string {
	v := strings.ToLower(p.str(env))
	for _, o := range options {
		if v == o {
			return v
		}
	}
	p.fail(env, "not one of %s", strings.Join(options, ", "))
	return ""
}
