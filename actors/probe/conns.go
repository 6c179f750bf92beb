package probe

import (
	"bufio"
	"net"
	"sync"
	"time"
)

// readBufferSize is each connection's read buffer; response headers larger
// than this are read through a temporary buffer of maxHeaderBytes.
const (
	readBufferSize = 4 << 10
	maxHeaderBytes = 64 << 10
	// maxIdlePerHost bounds the idle connections kept for one host:port.
	maxIdlePerHost = 4
)

// conn is one connection of the lean prober, used by one probe at a time.
// It reads through a buffer and remembers its last read error, so that a
// failure is classified by what the network said, not by the parser.
type conn struct {
	nc      net.Conn
	br      *bufio.Reader
	key     connKey
	idleAt  time.Time
	read    int    // bytes read since the current request was sent
	readErr error  // the last read error since then
	spoiled bool   // br lost data to a larger temporary buffer: do not reuse
	expire  func() // c.expireNow, bound once: ends the current probe's I/O
}

// readers holds the read buffers of closed connections for new ones: without
// keep-alive every probe opens a connection.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

func newConn(nc net.Conn, key connKey) *conn {
	c := &conn{nc: nc, key: key}
	c.br = readers.Get().(*bufio.Reader)
	c.br.Reset(c)
	c.expire = c.expireNow
	return c
}

// Read reads from the network, counting bytes and keeping the last error.
func (c *conn) Read(b []byte) (int, error) {
	n, err := c.nc.Read(b)
	c.read += n
	if err != nil {
		c.readErr = err
	}
	return n, err
}

// expireNow makes the connection's pending and future I/O fail at once (the
// probe was cancelled).
func (c *conn) expireNow() { _ = c.nc.SetDeadline(time.Unix(1, 0)) }

// close closes the connection and gives back its read buffer; c is not
// used for I/O again.
func (c *conn) close() {
	_ = c.nc.Close()
	if c.br != nil {
		c.br.Reset(nil)
		readers.Put(c.br)
		c.br = nil
	}
}

// idleConns keeps connections between probes: at most max in all, at most
// maxIdlePerHost per host:port, each for at most timeout. Expired
// connections are closed when their host is next probed, and by a sweep of
// the whole set at most every timeout/2, run by a probe returning a
// connection: no goroutine of its own.
type idleConns struct {
	mu        sync.Mutex
	conns     map[connKey][]*conn // most recently used last
	n         int
	max       int
	timeout   time.Duration
	lastSweep time.Time
}

// get returns an idle connection to key, or nil.
func (ic *idleConns) get(key connKey, now time.Time) *conn {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	for list := ic.conns[key]; len(list) > 0; list = ic.conns[key] {
		c := list[len(list)-1]
		list[len(list)-1] = nil
		ic.conns[key] = list[:len(list)-1] // an empty list stays until a sweep, for the next put
		ic.n--
		if ic.timeout > 0 && now.Sub(c.idleAt) >= ic.timeout {
			c.close()
			continue
		}
		return c
	}
	return nil
}

// put keeps c for a later probe; it closes c when the set is full.
func (ic *idleConns) put(c *conn, now time.Time) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.n >= ic.max || len(ic.conns[c.key]) >= maxIdlePerHost {
		c.close()
		return
	}
	if ic.conns == nil {
		ic.conns = make(map[connKey][]*conn)
	}
	c.idleAt = now
	ic.conns[c.key] = append(ic.conns[c.key], c)
	ic.n++
	if ic.timeout > 0 && now.Sub(ic.lastSweep) >= ic.timeout/2 {
		ic.lastSweep = now
		ic.sweep(now)
	}
}

// sweep closes the connections idle for timeout or more.
func (ic *idleConns) sweep(now time.Time) {
	for key, list := range ic.conns {
		kept := list[:0]
		for _, c := range list {
			if now.Sub(c.idleAt) >= ic.timeout {
				c.close()
				ic.n--
				continue
			}
			kept = append(kept, c)
		}
		clear(list[len(kept):])
		if len(kept) == 0 {
			delete(ic.conns, key)
		} else {
			ic.conns[key] = kept
		}
	}
}

// closeAll closes every idle connection.
func (ic *idleConns) closeAll() {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	for _, list := range ic.conns {
		for _, c := range list {
			c.close()
		}
	}
	ic.conns, ic.n = nil, 0
}
