package object

import "os"

func tempDir() (string, error) { return os.MkdirTemp("", "object-example-") }
