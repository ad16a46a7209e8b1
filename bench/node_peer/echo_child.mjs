// A warm child of the fork pool: answers each message with it (the echo job).
process.on("message", (input) => process.send(input));
