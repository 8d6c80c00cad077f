// Role: the `twinrender` command and its subcommands (swift-argument-parser).
// Failure modes: none here; each subcommand reports its own.

import ArgumentParser

/// `twinrender`: the command line. Thin: each subcommand parses, calls a stage module or the
/// daemon, and prints. Every subcommand takes `--config PATH`.
@main
struct TwinRender: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twinrender",
        abstract: "Render consented, watermarked images of fashion models' digital twins.",
        subcommands: [
            ServeCommand.self,
            SubmitCommand.self,
            StatusCommand.self,
            RoyaltiesCommand.self,
            RegistrarCommand.self, KeygenCommand.self, PartyCommand.self, EstateCommand.self, DeathCommand.self,
            TwinCommand.self, ConsentCommand.self,
            WatermarkCommand.self, VerifyCommand.self, CACommand.self,
            BenchCommand.self,
            DbCommand.self,
        ]
    )
}
