package cluster

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

func TestTmpLoad(t *testing.T) {
	f := newFarm(t)
	b := raceBin.Path(t)
	if os.Getenv("PLAIN") != "" {
		b = plainBin.Path(t)
	}
	fleet := paths("/t/", 3000)
	for k := range 3 {
		p := harness.StartT(t, b, "PROBE_INTERVAL=1s")
		part := fleet[k*1000 : (k+1)*1000]
		items := make([]map[string]string, len(part))
		for i, pa := range part {
			items[i] = map[string]string{"url": f.url(pa)}
		}
		body, _ := json.Marshal(items)
		harness.Do(t, client, http.MethodPost, p.URL("/bulk"), body)
	}
	start := time.Now()
	harness.Eventually(t, 60*time.Second, "all probed", func() bool { return f.probedSince(fleet, time.Time{}) })
	t.Logf("all probed %s", time.Since(start))
	from := time.Now().Add(interval)
	to := from.Add(window)
	time.Sleep(time.Until(to))
	t.Logf("%s", f.tally(fleet, from, to))
}
