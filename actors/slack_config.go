package actors

import (
	"net/http"
	"time"

	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/slack"
)

// SlackConfig configures the Slack batcher. Zero values take the defaults
// named on each field.
type SlackConfig struct {
	// HookURL is the incoming-webhook URL (SLACK_HOOK_URL). Required.
	HookURL string
	// BatchSize is the most events in one message (SLACK_BATCH_SIZE):
	// default and maximum 40.
	BatchSize int
	// BatchWindow is the longest wait between a batch's first event and its
	// sending (SLACK_BATCH_WINDOW), default 5s. It is also the window within
	// which a mass failure is detected.
	BatchWindow time.Duration
	// MaxBacklog is the most events waiting for Slack (SLACK_MAX_BACKLOG),
	// default 10,000; past it the oldest are folded into "…and N more changes".
	MaxBacklog int
	// MassMinURLs is the least number of URLs failing within one window that
	// can make a mass failure (they must also be more than half of all
	// registered URLs), default 20.
	MassMinURLs int
	// MinInterval is the least time between two posts, default 1s (Slack's
	// rate for incoming webhooks).
	MinInterval time.Duration
	// RetryBase and RetryMax bound the exponential backoff after 5xx, 4xx,
	// timeouts and network errors: defaults 1s and 2m. A 429 waits for its
	// Retry-After instead.
	RetryBase time.Duration
	RetryMax  time.Duration
	// Client posts the messages; default a client with a 10s timeout.
	Client *http.Client
	// FlushPostTimeout bounds each post made while a flush is under way,
	// default 1s: a shutdown does not wait long for a Slack that does not
	// answer.
	FlushPostTimeout time.Duration
	// Silences, when set, tells which URLs are silenced: their changes are
	// withheld until no silence covers them (docs/slack.md, "Silences").
	// The batcher must then receive every silence.Change.
	Silences readmodel.Silencer
}

// withDefaults fills zero fields and caps the batch size at 40; the webhook
// fills its own.
func (c SlackConfig) withDefaults() SlackConfig {
	if c.BatchSize <= 0 || c.BatchSize > slack.MaxEvents {
		c.BatchSize = DefaultSlackBatchSize
	}
	if c.BatchWindow <= 0 {
		c.BatchWindow = DefaultSlackBatchWindow
	}
	if c.MaxBacklog <= 0 {
		c.MaxBacklog = DefaultSlackMaxBacklog
	}
	if c.MassMinURLs <= 0 {
		c.MassMinURLs = DefaultSlackMassMinURLs
	}
	if c.FlushPostTimeout <= 0 {
		c.FlushPostTimeout = DefaultSlackFlushPostTimeout
	}
	return c
}

// Defaults of SlackConfig.
const (
	DefaultSlackBatchSize        = 40
	DefaultSlackBatchWindow      = 5 * time.Second
	DefaultSlackMaxBacklog       = 10_000
	DefaultSlackMassMinURLs      = 20
	DefaultSlackFlushPostTimeout = time.Second
)
