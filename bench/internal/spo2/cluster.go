package spo2

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Members returns the live cluster members this instance's /healthz names;
// nil on a single node.
func (s *Instance) Members() ([]string, error) {
	resp, err := s.client.Get(s.p.URL("/healthz"))
	if err != nil {
		return nil, fmt.Errorf("GET /healthz: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /healthz: status %d", resp.StatusCode)
	}
	var h struct {
		Members []string `json:"members"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return nil, fmt.Errorf("decode /healthz: %w", err)
	}
	return h.Members, nil
}

// PutSpread registers ids with PUT /?url=… spread over instances: each
// gets an equal share of the ids and of conc concurrent requests, all at
// once. The result is their sum over the wall time of the slowest.
func PutSpread(insts []*Instance, urls []string, ids []int, conc int) RegResult {
	n := len(insts)
	parts := make([]RegResult, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i, s := range insts {
		lo, hi := i*len(ids)/n, (i+1)*len(ids)/n
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[i] = s.Put(urls, ids[lo:hi], max(conc/n, 1))
		}()
	}
	wg.Wait()
	r := RegResult{URLs: len(ids), Seconds: time.Since(start).Seconds()}
	for _, p := range parts {
		r.OK += p.OK
		r.Errors += p.Errors
		r.FirstError = firstOf(r.FirstError, p.FirstError)
	}
	r.PerSec = float64(r.OK) / r.Seconds
	return r
}
