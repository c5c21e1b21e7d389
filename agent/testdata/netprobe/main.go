// Command netprobe is the tiny program the agent's chaos tests run in real pods (built into an
// image by cluster.LoadGoImage). It always serves a UDP echo on :9000, accepts (and
// closes) TCP connections on :9001, and serves HTTP on :9002. With $PEER set to HOST:PORT it
// also connects to that TCP address in a loop (150 ms timeout, 5 ms apart) and reports on
// GET /stats?since=<unix nanos> how many attempts started at or after since succeeded and
// failed: "ok=N fail=M".
//
// GET /rtt?addr=IP&n=N&conc=C&proto=http|udp makes N requests from inside this pod, C at a
// time, to another netprobe at IP (HTTP GET /ping over keep-alive connections, or one UDP
// datagram to the echo) and answers {"rtt_us":[...],"failed":K}, the round-trip times in
// microseconds (5 s timeout each).
//
// GET /udpseq?addr=IP&n=N&gap_us=G sends N numbered datagrams, G µs apart, from inside this
// pod to another netprobe's UDP echo and answers {"arrivals":[{"seq":S,"rtt_us":R},...],
// "udp":{"InErrors":E,"InCsumErrors":C,"RcvbufErrors":B}}: every echo that came back, in
// arrival order (a duplicated one twice), and how much this pod's Udp error counters
// (/proc/net/snmp) grew meanwhile. GET /udperrors answers those counters as they are: a
// datagram a full receive buffer dropped counts in RcvbufErrors (and InErrors), one that
// failed its checksum in InCsumErrors (and InErrors).
//
// GET /bulk?bytes=N sends N bytes (at most 1 GiB). GET /fetch?addr=IP&bytes=N downloads that
// from another netprobe, from inside this pod, and answers {"bytes":B,"seconds":S}, B counted
// after the first read and S from the first read to the last (the receiver's rate, B/S).
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

type attempt struct {
	start time.Time
	ok    bool
}

var (
	mu       sync.Mutex
	attempts []attempt
)

func main() {
	pc, err := net.ListenPacket("udp", ":9000")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = pc.(*net.UDPConn).SetReadBuffer(8 << 20)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				continue
			}
			_, _ = pc.WriteTo(buf[:n], addr)
		}
	}()
	ln, err := net.Listen("tcp", ":9001")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err == nil {
				c.Close()
			}
		}
	}()
	if peer := os.Getenv("PEER"); peer != "" {
		go dialLoop(peer)
	}
	http.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
		ok, fail := 0, 0
		mu.Lock()
		for _, a := range attempts {
			if a.start.UnixNano() < since {
				continue
			}
			if a.ok {
				ok++
			} else {
				fail++
			}
		}
		mu.Unlock()
		fmt.Fprintf(w, "ok=%d fail=%d now=%d\n", ok, fail, time.Now().UnixNano())
	})
	http.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "pong") })
	http.HandleFunc("/rtt", rtt)
	http.HandleFunc("/udpseq", udpseq)
	http.HandleFunc("/udperrors", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(udpErrors())
	})
	http.HandleFunc("/bulk", bulk)
	http.HandleFunc("/fetch", fetch)
	fmt.Println("netprobe ready")
	_ = http.ListenAndServe(":9002", nil)
}

func dialLoop(peer string) {
	for {
		start := time.Now()
		c, err := net.DialTimeout("tcp", peer, 150*time.Millisecond)
		if err == nil {
			c.Close()
		}
		mu.Lock()
		attempts = append(attempts, attempt{start: start, ok: err == nil})
		if len(attempts) > 200000 {
			attempts = attempts[100000:]
		}
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
}

func rtt(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	addr := q.Get("addr")
	n, _ := strconv.Atoi(q.Get("n"))
	conc, _ := strconv.Atoi(q.Get("conc"))
	if addr == "" || n <= 0 || n > 10000 || conc <= 0 || conc > 100 {
		http.Error(w, "want addr=IP, n in 1..10000, conc in 1..100", http.StatusBadRequest)
		return
	}
	one := func(*http.Client) (time.Duration, error) { return 0, nil }
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	switch q.Get("proto") {
	case "udp":
		one = func(*http.Client) (time.Duration, error) {
			c, err := net.Dial("udp", net.JoinHostPort(addr, "9000"))
			if err != nil {
				return 0, err
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			start := time.Now()
			if _, err := c.Write([]byte("rtt")); err != nil {
				return 0, err
			}
			buf := make([]byte, 16)
			if _, err := c.Read(buf); err != nil {
				return 0, err
			}
			return time.Since(start), nil
		}
	default:
		one = func(c *http.Client) (time.Duration, error) {
			start := time.Now()
			resp, err := c.Get("http://" + net.JoinHostPort(addr, "9002") + "/ping")
			if err != nil {
				return 0, err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return time.Since(start), nil
		}
	}
	var (
		mu     sync.Mutex
		out    = []int64{}
		failed int
		wg     sync.WaitGroup
		next   = make(chan struct{}, n)
	)
	for i := 0; i < n; i++ {
		next <- struct{}{}
	}
	close(next)
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				d, err := one(client)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					out = append(out, d.Microseconds())
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"rtt_us": out, "failed": failed})
}

func bulk(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.URL.Query().Get("bytes"), 10, 64)
	if err != nil || n <= 0 || n > 1<<30 {
		http.Error(w, "want bytes in 1..1073741824", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	chunk := make([]byte, 32<<10)
	for n > 0 {
		k := min(n, int64(len(chunk)))
		if _, err := w.Write(chunk[:k]); err != nil {
			return
		}
		n -= k
	}
}

func fetch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c := &http.Client{Timeout: 2 * time.Minute}
	resp, err := c.Get("http://" + net.JoinHostPort(q.Get("addr"), "9002") + "/bulk?bytes=" + q.Get("bytes"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	buf := make([]byte, 64<<10)
	if _, err := resp.Body.Read(buf); err != nil && err != io.EOF {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	start := time.Now()
	rest, err := io.CopyBuffer(io.Discard, resp.Body, buf)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"bytes": rest, "seconds": time.Since(start).Seconds()})
}

// udpCounters are the Udp error counters udpErrors reads.
var udpCounters = []string{"InErrors", "InCsumErrors", "RcvbufErrors"}

// udpErrors reads the Udp error counters of this pod's network namespace.
func udpErrors() map[string]int64 {
	out := map[string]int64{}
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return out
	}
	var head []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		for i := range head {
			for _, c := range udpCounters {
				if head[i] == c && i < len(f) {
					out[c], _ = strconv.ParseInt(f[i], 10, 64)
				}
			}
		}
		break
	}
	return out
}

func udpseq(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, _ := strconv.Atoi(q.Get("n"))
	gapUS, _ := strconv.Atoi(q.Get("gap_us"))
	if q.Get("addr") == "" || n <= 0 || n > 100000 || gapUS < 0 || gapUS > 1000000 {
		http.Error(w, "want addr=IP, n in 1..100000, gap_us in 0..1000000", http.StatusBadRequest)
		return
	}
	c, err := net.Dial("udp", net.JoinHostPort(q.Get("addr"), "9000"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer c.Close()
	_ = c.(*net.UDPConn).SetReadBuffer(8 << 20)
	type arrival struct {
		Seq uint32 `json:"seq"`
		RTT int64  `json:"rtt_us"`
	}
	before := udpErrors()
	got := make(chan []arrival)
	go func() {
		out := []arrival{}
		buf := make([]byte, 64)
		for {
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			k, err := c.Read(buf)
			if err != nil {
				got <- out
				return
			}
			if k == 12 {
				sent := time.Unix(0, int64(binary.BigEndian.Uint64(buf[4:])))
				out = append(out, arrival{Seq: binary.BigEndian.Uint32(buf), RTT: time.Since(sent).Microseconds()})
			}
		}
	}()
	gap := time.Duration(gapUS) * time.Microsecond
	start := time.Now()
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * gap)); d > 0 {
			time.Sleep(d)
		}
		b := binary.BigEndian.AppendUint32(nil, uint32(i))
		_, _ = c.Write(binary.BigEndian.AppendUint64(b, uint64(time.Now().UnixNano())))
	}
	arrivals := <-got
	w.Header().Set("Content-Type", "application/json")
	delta := udpErrors()
	for k := range delta {
		delta[k] -= before[k]
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"arrivals": arrivals, "udp": delta})
}
