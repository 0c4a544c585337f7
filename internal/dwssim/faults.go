package dwssim

import (
	"net/http"
	"slices"
	"time"
)

// Fault is an injected misbehaviour for the next Times requests of a route
// ("" = any route; 0 Times = until cleared). A request that matches first
// waits Latency (or until the client gives up, and then is not applied).
// Then, in this order of precedence:
//   - BadSignature answers 401 APIG.0301 without applying;
//   - Status (e.g. 500, 503) answers that status with Code and Message
//     (defaults: DWS.9999 and the status text) without applying;
//   - DropResponse applies the request, then closes the connection without
//     an answer (an ambiguous outcome);
//   - BadBody applies the request, then answers 200 with a body that does
//     not decode.
//
// A Fault with only Latency delays a request that then succeeds. Injected
// signature failures do not count toward the AK lockout.
type Fault struct {
	Route        string        `json:"route"`
	Status       int           `json:"status"`
	Code         string        `json:"code"`
	Message      string        `json:"message"`
	Times        int           `json:"times"`
	Latency      time.Duration `json:"latency"`
	DropResponse bool          `json:"drop_response"`
	BadBody      bool          `json:"bad_body"`
	BadSignature bool          `json:"bad_signature"`
}

type activeFault struct {
	Fault
	left int // requests left; meaningful only when Times > 0
}

func (f Fault) apiError() *apiError {
	e := &apiError{Status: f.Status, Code: f.Code, Message: f.Message}
	if e.Code == "" {
		e.Code = CodeInternal
	}
	if e.Message == "" {
		e.Message = http.StatusText(f.Status)
	}
	return e
}

// InjectFault adds a fault. Faults are matched in the order they were
// injected; the first that matches a request is used.
func (s *Simulator) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &activeFault{Fault: f, left: f.Times})
}

// ClearFaults removes all faults.
func (s *Simulator) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the fault for a request to route, using up one of its
// Times.
func (s *Simulator) takeFault(route string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, af := range s.faults {
		if af.Route != "" && af.Route != route {
			continue
		}
		if af.Times > 0 {
			af.left--
			if af.left <= 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		return af.Fault, true
	}
	return Fault{}, false
}

// dropConnection closes the connection without answering, as a network
// fault after the server applied the request would. Where the connection
// cannot be taken over (HTTP/2), aborting the handler has the same effect.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
