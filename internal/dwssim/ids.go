package dwssim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
)

// idSource makes task IDs and request IDs. With a fixed seed a run is
// reproducible, which makes demo scripts and golden logs stable.
type idSource struct {
	mu  sync.Mutex
	rng *rand.Rand
}

// reseed restarts the sequence; seed 0 picks a random one.
func (g *idSource) reseed(seed int64) {
	s := uint64(seed)
	if seed == 0 {
		s = rand.Uint64()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rng = rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
}

func (g *idSource) bytes16() [16]byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	var b [16]byte
	for i := range b {
		b[i] = byte(g.rng.UintN(256))
	}
	return b
}

// requestID is 32 lower-case hex digits, the form the gateway uses.
func (g *idSource) requestID() string {
	b := g.bytes16()
	return hex.EncodeToString(b[:])
}

// uuid is a random (version 4) UUID.
func (g *idSource) uuid() string {
	b := g.bytes16()
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

// nameUUID derives a stable (version 5 style) UUID from its parts, so seeded
// clusters keep their IDs across restarts of the simulator.
func nameUUID(parts ...string) string {
	sum := sha1.Sum([]byte("dwssim/" + strings.Join(parts, "/")))
	var b [16]byte
	copy(b[:], sum[:16])
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
