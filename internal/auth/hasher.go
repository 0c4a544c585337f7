package auth

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/argon2id"

	"drportal/internal/apperr"
)

// ErrBusy refuses a password check or hash while the portal already runs
// as many as it allows and as many more wait. Nothing was checked or
// changed.
var ErrBusy error = &apperr.Error{Kind: apperr.Unavailable, RetryAfter: 2 * time.Second,
	Message: "The portal is busy signing people in; try again in a few seconds."}

// Hasher runs argon2id, the portal's password hash, at most Running at a
// time. A hash holds the memory its parameters name (64 MiB by default)
// while it runs, so without a bound a flood of sign-ins takes as much
// memory as it likes. Callers beyond Running wait for a turn, at most
// Waiting of them and for at most Wait each; anyone beyond that gets
// ErrBusy at once. Every argon2id call of the portal goes through a Hasher
// (TestEveryPasswordHashTakesATurn keeps it so); one shared by every
// Service without a Hasher of its own bounds the whole process.
type Hasher struct {
	Running int           // hashes at once (default: runtime.GOMAXPROCS)
	Waiting int           // callers that may wait for a turn (default 2 × Running; negative: none)
	Wait    time.Duration // how long a caller waits at most (default 2 s)
	// Hook, when set, runs in a turn just before each hash: tests use it to
	// count how many run at once, or to hold a turn.
	Hook func()

	once     sync.Once
	turns    chan struct{}
	admitted int64 // Running + Waiting
	wait     time.Duration
	inside   atomic.Int64 // holding or waiting for a turn
}

// defaultHasher bounds the services that have no Hasher of their own.
var defaultHasher = &Hasher{}

func (h *Hasher) init() {
	h.once.Do(func() {
		running := cmp.Or(max(h.Running, 0), runtime.GOMAXPROCS(0))
		waiting := h.Waiting
		if waiting == 0 {
			waiting = 2 * running
		}
		h.turns = make(chan struct{}, running)
		h.admitted = int64(running + max(waiting, 0))
		h.wait = cmp.Or(h.Wait, 2*time.Second)
	})
}

// Limits returns how many hashes run at once and how many callers may wait.
func (h *Hasher) Limits() (running, waiting int) {
	h.init()
	return cap(h.turns), int(h.admitted) - cap(h.turns)
}

// Begin takes a turn, waiting for one if all are taken and few enough
// others wait; otherwise it returns ErrBusy. End the turn when done.
func (h *Hasher) Begin(ctx context.Context) (*Turn, error) {
	h.init()
	if h.inside.Add(1) > h.admitted {
		h.inside.Add(-1)
		return nil, ErrBusy
	}
	select {
	case h.turns <- struct{}{}:
		return &Turn{h: h}, nil
	default:
	}
	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	select {
	case h.turns <- struct{}{}:
		return &Turn{h: h}, nil
	case <-timer.C:
	case <-ctx.Done():
	}
	h.inside.Add(-1)
	return nil, ErrBusy
}

// Turn is the right to run argon2id, one hash after another, until End.
type Turn struct {
	h     *Hasher
	ended bool
	// memory is the most memory (KiB) a hash of this turn took.
	memory uint32
}

// Compare reports whether password matches an argon2id hash.
func (t *Turn) Compare(password, hash string) (bool, error) {
	p, _, _, err := argon2id.DecodeHash(hash)
	if err != nil {
		return false, fmt.Errorf("compare password: %w", err)
	}
	t.ran(p.Memory)
	return argon2id.ComparePasswordAndHash(password, hash)
}

// Create returns the argon2id hash of a password.
func (t *Turn) Create(password string, p *argon2id.Params) (string, error) {
	t.ran(p.Memory)
	return argon2id.CreateHash(password, p)
}

func (t *Turn) ran(memory uint32) {
	if t.ended {
		panic("auth: a hash after its turn ended")
	}
	t.memory = max(t.memory, memory)
	if t.h.Hook != nil {
		t.h.Hook()
	}
}

// bigHash is the memory (KiB) from which a turn's end collects garbage.
const bigHash = 8 << 10

// End gives the turn back. It may be called more than once.
func (t *Turn) End() {
	if t.ended {
		return
	}
	t.ended = true
	<-t.h.turns
	t.h.inside.Add(-1)
	// A hash's memory is garbage the moment it ends, and there is a lot of
	// it: at the portal's GOGC=400 the collector would let four times the
	// running hashes' memory pile up before it looks (5 × 128 MiB on two
	// cores, measured). Collecting now keeps a flood's memory to about
	// twice what runs at once; with a small live heap it costs a few
	// milliseconds against the hash's tens.
	if t.memory >= bigHash {
		runtime.GC()
	}
}

// unmatchableHash is an argon2id hash with p's cost that no password
// matches: a sign-in with an unknown e-mail is compared against it, so it
// takes as long as a wrong password.
func unmatchableHash(p *argon2id.Params) string {
	salt, key := make([]byte, p.SaltLength), make([]byte, p.KeyLength)
	_, _ = rand.Read(salt)
	_, _ = rand.Read(key)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.Memory, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}
