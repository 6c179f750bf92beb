package api

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// history serves GET /history?url=U: U's last state changes, newest first,
// from the read model ([] before the first).
func (s *Server) history(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	e, ok := s.lookup(w, r)
	if !ok {
		return
	}
	writeRawJSON(w, http.StatusOK, e.History().AppendJSON(nil))
}
