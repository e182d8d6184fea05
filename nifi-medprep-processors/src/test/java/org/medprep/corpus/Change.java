/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

/** What one mutation made: the new bytes and, in words, what it changed. */
record Change(byte[] bytes, String what) {
}
