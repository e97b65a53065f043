"""Live changes: the LISTEN connection that wakes the reader, the per-socket hub,
the WebSocket frames, and which devices hold a socket on this process."""
