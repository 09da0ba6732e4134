// decode: reads an assertion stream on stdin with snapd's own decoder
// (asserts.NewDecoder, snapd 2.57.6 source from Debian's
// golang-github-snapcore-snapd-dev) and prints one JSON line per assertion:
// its type, headers and body as snapd sees them. A stream snapd cannot decode
// exits 1 with snapd's error.
// Usage: decode < STREAM
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/snapcore/snapd/asserts"
)

func main() {
	dec := asserts.NewDecoder(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for {
		a, err := dec.Decode()
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "error: %v\n", err)
			os.Exit(1)
		}
		if err := out.Encode(map[string]interface{}{"type": a.Type().Name, "headers": a.Headers(), "body": string(a.Body())}); err != nil {
			fmt.Fprintf(os.Stderr, "error: %v\n", err)
			os.Exit(1)
		}
	}
}
