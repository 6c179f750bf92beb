package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/silence"
)

// onSilences tells the stream that silences changed: every registered URL
// that a started or ended silence covers gets a registered event with its
// record, whose "silenced" says whether it is silenced now. The supervisor
// sends them, as it sends every registered and removed event, so a removed
// URL never comes back through one.
func (s *Supervisor) onSilences(ctx actor.Context, c silence.Change) {
	changed := append(append([]silence.Silence(nil), c.Started...), c.Ended...)
	if len(changed) == 0 {
		return
	}
	now := time.Now()
	for _, ref := range s.cfg.Model.Refs() {
		for i := range changed {
			if changed[i].Matches(ref.Reg.URL, ref.Reg.Labels) {
				ctx.Send(s.cfg.Broadcaster, Registered{Record: ref.RecordAt(now)})
				break
			}
		}
	}
}
