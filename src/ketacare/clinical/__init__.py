"""Pure clinical knowledge: no Django, no I/O. Every constant carries its published source."""
