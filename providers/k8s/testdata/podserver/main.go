// Command podserver is the tiny program the chaos-tagged tests of providers/k8s run in real
// pods (built into an image by cluster.LoadGoImage). Without arguments it serves
// HTTP on $PORT (default 8080), answering "ok <hostname>", logs one line at start, one per
// second ("tick N") and one per request other than the kubelet's probes, and exits with status 1 after $EXIT_AFTER (a Go duration) when set. As a
// command for exec_in_pods it runs "echo ARGS..." (prints them) or "exit N" (prints "bye",
// exits N, and writes "error output" to stderr).
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "echo":
			fmt.Println(strings.Join(os.Args[2:], " "))
			return
		case "exit":
			code := 1
			if len(os.Args) > 2 {
				code, _ = strconv.Atoi(os.Args[2])
			}
			fmt.Println("bye")
			fmt.Fprintln(os.Stderr, "error output")
			os.Exit(code)
		default:
			fmt.Fprintf(os.Stderr, "podserver: unknown command %q\n", os.Args[1])
			os.Exit(2)
		}
	}
	host, _ := os.Hostname()
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	fmt.Printf("podserver %s started on :%s\n", host, port)
	if d, err := time.ParseDuration(os.Getenv("EXIT_AFTER")); err == nil && d > 0 {
		go func() {
			time.Sleep(d)
			fmt.Println("podserver exiting as asked")
			os.Exit(1)
		}()
	}
	go func() {
		for i := 1; ; i++ {
			time.Sleep(time.Second)
			fmt.Printf("tick %d\n", i)
		}
	}()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.UserAgent() != "" && !strings.HasPrefix(r.UserAgent(), "kube-probe/") {
			fmt.Printf("%s %s from %s\n", r.Method, r.URL.Path, r.RemoteAddr)
		}
		fmt.Fprintf(w, "ok %s\n", host)
	})
	if err := http.ListenAndServe(":"+port, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
