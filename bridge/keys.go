package bridge

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	zmq "github.com/pebbe/zmq4"
)

// KeyPair is a CurveZMQ key pair in Z85 text (40 characters each).
type KeyPair struct {
	Public string
	Secret string // empty for a public key read from a .pub file
}

// GenerateKeyPair returns a new CurveZMQ key pair. It fails with ErrNoCurve
// when libzmq lacks CURVE support.
func GenerateKeyPair() (KeyPair, error) {
	if !zmq.HasCurve() {
		return KeyPair{}, ErrNoCurve
	}
	pub, sec, err := zmq.NewCurveKeypair()
	if err != nil {
		return KeyPair{}, fmt.Errorf("bridge: generating key pair: %w", err)
	}
	return KeyPair{Public: pub, Secret: sec}, nil
}

// checkKey reports ErrBadKey unless k is Z85 for 32 bytes.
func checkKey(k string) error {
	if len(k) != 40 || len(zmq.Z85decode(k)) != 32 {
		return fmt.Errorf("%w: %q", ErrBadKey, k)
	}
	return nil
}

// WriteKeyPair writes kp to dir/name.key (public and secret key) and
// dir/name.pub (public key only), both created with mode 0600. It refuses
// to overwrite existing files. It returns the two paths.
func WriteKeyPair(dir, name string, kp KeyPair) (secretPath, publicPath string, err error) {
	if err := checkKey(kp.Public); err != nil {
		return "", "", err
	}
	if err := checkKey(kp.Secret); err != nil {
		return "", "", err
	}
	secretPath = filepath.Join(dir, name+".key")
	publicPath = filepath.Join(dir, name+".pub")
	sec := fmt.Sprintf("# BAT OS CurveZMQ key pair %q. Keep this file private.\npublic-key = %q\nsecret-key = %q\n", name, kp.Public, kp.Secret)
	pub := fmt.Sprintf("# BAT OS CurveZMQ public key %q.\npublic-key = %q\n", name, kp.Public)
	if err := writeNew(secretPath, sec); err != nil {
		return "", "", err
	}
	if err := writeNew(publicPath, pub); err != nil {
		os.Remove(secretPath)
		return "", "", err
	}
	return secretPath, publicPath, nil
}

func writeNew(path, data string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// ReadKeyFile reads a file written by WriteKeyPair: a .key file yields both
// keys, a .pub file only the public one. The keys are validated and a
// secret key must match its public key.
func ReadKeyFile(path string) (KeyPair, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return KeyPair{}, err
	}
	var kp KeyPair
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return KeyPair{}, fmt.Errorf("%w: %s: line %q", ErrKeyFile, path, line)
		}
		v = strings.Trim(strings.TrimSpace(v), `"`)
		switch strings.TrimSpace(k) {
		case "public-key":
			kp.Public = v
		case "secret-key":
			kp.Secret = v
		default:
			return KeyPair{}, fmt.Errorf("%w: %s: unknown key %q", ErrKeyFile, path, k)
		}
	}
	if err := checkKey(kp.Public); err != nil {
		return KeyPair{}, fmt.Errorf("%w: %s: %w", ErrKeyFile, path, err)
	}
	if kp.Secret != "" {
		if err := checkKey(kp.Secret); err != nil {
			return KeyPair{}, fmt.Errorf("%w: %s: %w", ErrKeyFile, path, err)
		}
		if pub, err := zmq.AuthCurvePublic(kp.Secret); err != nil || pub != kp.Public {
			return KeyPair{}, fmt.Errorf("%w: %s: secret key does not match public key", ErrKeyFile, path)
		}
	}
	return kp, nil
}

// LoadCurveOptions builds server CurveOptions from key files: the server's
// .key file and the .pub (or .key) files of the admitted clients.
func LoadCurveOptions(serverKeyFile string, clientKeyFiles ...string) (*CurveOptions, error) {
	srv, err := ReadKeyFile(serverKeyFile)
	if err != nil {
		return nil, err
	}
	if srv.Secret == "" {
		return nil, fmt.Errorf("%w: %s holds no secret key", ErrKeyFile, serverKeyFile)
	}
	opts := &CurveOptions{SecretKey: srv.Secret}
	for _, f := range clientKeyFiles {
		kp, err := ReadKeyFile(f)
		if err != nil {
			return nil, err
		}
		opts.ClientKeys = append(opts.ClientKeys, kp.Public)
	}
	return opts, nil
}

// LoadClientCurve builds a ClientCurve from the server's .pub file and the
// client's own .key file.
func LoadClientCurve(serverPubFile, clientKeyFile string) (*ClientCurve, error) {
	srv, err := ReadKeyFile(serverPubFile)
	if err != nil {
		return nil, err
	}
	cl, err := ReadKeyFile(clientKeyFile)
	if err != nil {
		return nil, err
	}
	if cl.Secret == "" {
		return nil, fmt.Errorf("%w: %s holds no secret key", ErrKeyFile, clientKeyFile)
	}
	return &ClientCurve{ServerKey: srv.Public, Public: cl.Public, Secret: cl.Secret}, nil
}
