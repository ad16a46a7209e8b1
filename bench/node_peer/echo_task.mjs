// A Piscina task: the echo job.
export default (input) => input;
