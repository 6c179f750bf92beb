// Package peerpb holds the protobuf messages SpO₂'s cluster members send
// each other over protoactor's remoting. peer.pb.go is generated from
// peer.proto; regenerate it with `go generate ./actors/peerpb` (needs
// protoc, Debian's protobuf-compiler, and protoc-gen-go at the version of
// google.golang.org/protobuf in go.mod:
// `go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12`).
package peerpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative peer.proto
