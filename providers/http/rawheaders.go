package http

import (
	"bytes"
	"net"
	"net/textproto"
	"sync"
)

// maxRawHeader bounds the bytes a headerConn keeps while it looks for the end of a response's
// header block (net/http's default limit for response headers is 1 MB as well).
const maxRawHeader = 1 << 20

// headerConn records the header names of the response read from a connection, as the server
// spelt them: net/http canonicalises them ("Content-type" becomes "Content-Type"), where
// requests keeps the server's spelling, and Chaos Toolkit journals that spelling. Informational
// (1xx) header blocks are skipped; only the final response's names are kept.
type headerConn struct {
	net.Conn

	mu    sync.Mutex
	buf   []byte
	done  bool
	names map[string]string // canonical name -> first spelling seen
}

func (c *headerConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		if !c.done {
			c.buf = append(c.buf, b[:n]...)
			c.scan()
		}
		c.mu.Unlock()
	}
	return n, err
}

// reset forgets the names of the previous response, before a kept connection reads the next.
func (c *headerConn) reset() {
	c.mu.Lock()
	c.buf, c.done, c.names = nil, false, nil
	c.mu.Unlock()
}

// scan parses the complete header blocks in buf. Called with mu held.
func (c *headerConn) scan() {
	for !c.done {
		end := bytes.Index(c.buf, []byte("\r\n\r\n"))
		sep := 4
		if lf := bytes.Index(c.buf, []byte("\n\n")); lf >= 0 && (end < 0 || lf < end) {
			end, sep = lf, 2
		}
		if end < 0 {
			if len(c.buf) > maxRawHeader {
				c.done, c.buf = true, nil
			}
			return
		}
		block := c.buf[:end]
		c.buf = c.buf[end+sep:]
		lines := bytes.Split(block, []byte("\n"))
		status := string(bytes.TrimSpace(lines[0]))
		names := map[string]string{}
		for _, l := range lines[1:] {
			l = bytes.TrimRight(l, "\r")
			if len(l) == 0 || l[0] == ' ' || l[0] == '\t' {
				continue // obsolete line folding: a continuation of the previous value
			}
			i := bytes.IndexByte(l, ':')
			if i <= 0 {
				continue
			}
			name := string(bytes.TrimRight(l[:i], " \t"))
			key := textproto.CanonicalMIMEHeaderKey(name)
			if _, seen := names[key]; !seen {
				names[key] = name
			}
		}
		// "HTTP/1.1 1xx ..." other than 101 is followed by the real response.
		if len(status) >= 12 && status[9] == '1' && status[9:12] != "101" {
			continue
		}
		c.names, c.done, c.buf = names, true, nil
	}
}

// spelling returns the server's spelling of a canonical header name, or the name itself.
func (c *headerConn) spelling(canonical string) string {
	if c == nil {
		return canonical
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.names[canonical]; ok {
		return s
	}
	return canonical
}
