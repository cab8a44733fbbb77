"""Mail commands: see how a message is read, import history, check and list mailboxes."""
