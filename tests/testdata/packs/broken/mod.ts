/** A test pack whose module throws while it loads. @module */
throw new Error("the broken pack cannot start");
