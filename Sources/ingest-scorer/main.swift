// `ingest-scorer`: one stage of the fleet as its own process (see `StageMain` and `FleetStage.ingestScorer`).
import Foundation
import Stages

exit(await StageMain.run(.ingestScorer))
