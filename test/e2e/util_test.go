package e2e

import (
	"encoding/json"
	"fmt"
	"os"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func nsNameFor(name string) string { return fmt.Sprintf("qne2e-%s-%d", name, os.Getpid()%100000) }
